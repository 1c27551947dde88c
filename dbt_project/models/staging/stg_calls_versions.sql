-- Phone calls handled by operators or robots: every version loaded into raw, tombstones included. The one place
-- raw.calls is renamed and typed; stg_calls keeps the latest live version of each call, and fct_calls reads the
-- versions changed since its last run from here (no FINAL, so its filter on _change_seq reaches the raw table).
select
    id as call_id,
    external_id as pbx_call_id,
    direction,
    operator_id,
    contact_id,
    lead_id,
    deal_id,
    phone,
    started_at,
    answered_at,
    ended_at,
    duration_seconds,
    outcome,
    recording_url,
    is_robot,
    script_answers,
    created_at,
    updated_at,
    _change_seq,
    _is_deleted,
    _loaded_at
from {{ source('raw', 'calls') }}
