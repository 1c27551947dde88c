-- Down the funnel counts never increase: leads >= contacted >= booked + insured bookings, booked >= attended >= paid
-- (insured bookings are out of booked, attended and paid).
select *
from {{ ref('mart_funnel') }}
where contacted > leads
   or booked + insurance_visits > contacted
   or attended > booked
   or paid > attended
