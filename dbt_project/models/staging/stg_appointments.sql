-- Appointments (visits) of contacts with doctors.
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as appointment_id,
    external_id,
    contact_id,
    deal_id,
    lead_id,
    branch_id,
    doctor_id,
    service,
    visit_type,
    status,
    scheduled_at,
    duration_minutes,
    price,
    currency,
    insurance_policy,
    insurer_id,
    rescheduled_from_id,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'appointments') }} final
where _is_deleted = 0
