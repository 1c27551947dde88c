-- Phone calls handled by operators or robots.
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as call_id,
    external_id,
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
    _loaded_at
from {{ source('raw', 'calls') }} final
where _is_deleted = 0
