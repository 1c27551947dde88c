-- Down the funnel counts never increase: leads >= contacted >= booked >= attended >= paid + insurance visits.
select *
from {{ ref('mart_funnel') }}
where contacted > leads
   or booked > contacted
   or attended > booked
   or paid + insurance_visits > attended
