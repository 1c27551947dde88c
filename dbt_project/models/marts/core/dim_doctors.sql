-- Doctors with their specialty and main branch: the clinic funnel reports bookings, show-ups and treatment by the
-- specialty of the doctor a patient was booked with.
select
    doctors.doctor_id as doctor_id,
    doctors.external_id as doctor_external_id,
    doctors.name as doctor_name,
    -- the specialty is what the funnel groups by: one label for a doctor without one, never NULL
    coalesce(nullIf(doctors.specialty, ''), '(no specialty)') as specialty,
    doctors.branch_id as branch_id,
    branches.branch_name as branch_name,
    doctors.created_at as created_at
from {{ ref('stg_doctors') }} as doctors
left join {{ ref('dim_branches') }} as branches on branches.branch_id = doctors.branch_id
