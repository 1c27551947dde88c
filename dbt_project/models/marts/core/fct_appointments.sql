{{
    config(
        materialized='incremental',
        incremental_strategy='delete_insert',
        unique_key='appointment_id',
        engine=replicated_engine('MergeTree()'),
        order_by='(scheduled_at, appointment_id)',
        partition_by='toYYYYMM(scheduled_at)',
        post_hook="{{ delete_tombstones() }}",
    )
}}
-- One row per appointment (visit). An insurance visit is one paid under a policy at zero price to the
-- patient: clinics count it apart from self-paid visits (it is invoiced to the insurer).
with appointments as (
    {{ latest_versions(ref('stg_appointments'), ref('stg_appointments_versions')) }}
)

select
    appointment_id,
    contact_id,
    deal_id,
    lead_id,
    branch_id,
    doctor_id,
    service,
    visit_type,
    status,
    status = 'attended' as is_attended,
    {{ is_insurance_visit('has_insurance_policy', 'price') }} as is_insurance_visit,
    scheduled_at,
    duration_minutes,
    coalesce(price, toDecimal64(0, 2)) as price,
    currency,
    has_insurance_policy,
    insurer_id,
    rescheduled_from_id,
    booked_at,
    _change_seq,
    _is_deleted,
    _loaded_at
from appointments
