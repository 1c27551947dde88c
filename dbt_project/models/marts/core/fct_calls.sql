{{
    config(
        materialized='incremental',
        incremental_strategy='delete_insert',
        unique_key='call_id',
        engine=replicated_engine('MergeTree()'),
        order_by='(started_at, call_id)',
        partition_by='toYYYYMM(started_at)',
        post_hook="{{ delete_tombstones() }}",
    )
}}
-- One row per phone call handled by an operator or a voice robot, with ring, talk and handle times.
with calls as (
    {{ latest_versions(ref('stg_calls'), ref('stg_calls_versions')) }}
)

select
    call_id,
    pbx_call_id,
    direction,
    operator_id,
    contact_id,
    lead_id,
    deal_id,
    phone,
    started_at,
    answered_at,
    ended_at,
    answered_at is not null as is_answered,
    outcome,
    is_robot,
    toUInt32(greatest(duration_seconds, 0)) as talk_seconds,
    toUInt32(if(answered_at is null, greatest(dateDiff('second', started_at, coalesce(ended_at, started_at)), 0),
                greatest(dateDiff('second', started_at, answered_at), 0))) as ring_seconds,
    toUInt32(if(answered_at is null, 0,
                greatest(dateDiff('second', started_at, coalesce(ended_at, answered_at)), 0))) as handle_seconds,
    _change_seq,
    _is_deleted,
    _loaded_at
from calls
