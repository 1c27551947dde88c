-- Appointments (visits) of contacts with doctors: every version loaded into raw, tombstones included. The one place
-- raw.appointments is renamed and typed; stg_appointments keeps the latest live version of each appointment, and
-- fct_appointments reads the versions changed since its last run from here (no FINAL, so its filter on _change_seq
-- reaches the raw table).
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
    insurance_policy as has_insurance_policy,
    insurer_id,
    rescheduled_from_id,
    created_at as booked_at,
    updated_at,
    _change_seq,
    _is_deleted,
    _loaded_at
from {{ source('raw', 'appointments') }}
