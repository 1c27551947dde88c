{{
    config(
        materialized='incremental',
        incremental_strategy='delete_insert',
        unique_key='call_id',
        engine=replicated_engine('MergeTree()'),
        order_by='(started_at, call_id)',
        partition_by='toYYYYMM(started_at)',
        post_hook="{{ delete_tombstones() }}",
        on_schema_change='append_new_columns',
    )
}}
-- One row per phone call handled by an operator or a voice robot, with ring, talk and handle times, its recording
-- link (web links only) and its script answers (typed from the store's JSON text).
-- A table built before recording_url / script_name / script_answers existed gets them appended and every live call
-- rewritten once (latest_versions' new_columns), so the new columns are filled for old calls too, as a full rebuild
-- would fill them.
with calls as (
    {{ latest_versions(ref('stg_calls'), ref('stg_calls_versions'),
                       new_columns=['recording_url', 'script_name', 'script_answers']) }}
),

-- The raw text columns renamed, so the typed columns below can take their names.
typed as (
    select * except (recording_url, script_answers), recording_url as recording_text,
        coalesce(script_answers, '') as script_json
    from calls
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
    -- Integrators POST calls: only an http(s) link survives (anything else is NULL), so nothing else can become one.
    {{ http_url('recording_text') }} as recording_url,
    {{ script_answers_map('script_json') }} as script_answers,
    {{ script_name('script_json', 'script_answers') }} as script_name,
    _change_seq,
    _is_deleted,
    _loaded_at
from typed
