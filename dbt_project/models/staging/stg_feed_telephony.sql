-- PBX call records, one row per call id (the latest loaded file wins). Includes calls the CRM never saw
-- (spam, wrong numbers); operator_id is the operator's external id ("op-001"), empty for unrouted calls.
with rows as (
    select * from {{ source('raw', 'feed_telephony') }} final
)

select
    call_id as pbx_call_id,
    started_at,
    answered_at,
    ended_at,
    direction,
    nullIf(operator_id, '') as operator_external_id,
    phone,
    duration_seconds,
    outcome,
    recording_url,
    is_robot,
    _file as source_file,
    _loaded_at
from rows
order by _loaded_at desc, _line desc
limit 1 by call_id
