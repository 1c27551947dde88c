-- Calls with a recording, for listening from the dashboard: every CRM call with a recording link (its own, else the
-- PBX's - int_pbx_calls' precedence) and every call only the PBX recorded that has one.
-- recording_link is the HTML Superset's table renders (allow_render_html): built here, only from an http(s) URL,
-- with the URL and the text XML-escaped, so a stored link like `javascript:...` or `https://x/"><img ...>` can
-- never become a script (macros/calls.sql: html_link). The table renders every column it shows as HTML, so the other
-- free text it shows (operator name, direction and outcome: an integrator's or the PBX file's words) is XML-escaped
-- here too.
with pbx as (
    select * from {{ ref('int_pbx_calls') }}
),

crm_calls as (
    select
        calls.call_id as call_id,
        coalesce(calls.pbx_call_id, '') as pbx_call_id,
        toDateTime64(calls.started_at, 3, 'UTC') as started_at,
        coalesce(calls.operator_id, toInt64(0)) as operator_id,
        coalesce(operators.operator_name, '(unassigned)') as operator_name,
        calls.is_robot as is_robot,
        calls.direction as direction,
        calls.outcome as outcome,
        calls.talk_seconds as talk_seconds,
        true as is_in_crm,
        coalesce(calls.recording_url, pbx.pbx_recording_url) as recording_url,
        if(calls.recording_url is not null, 'crm', 'pbx') as recording_source
    from {{ ref('fct_calls') }} as calls
    left join pbx on pbx.pbx_call_id = calls.pbx_call_id
    left join {{ ref('dim_operators') }} as operators on operators.operator_id = calls.operator_id
    where coalesce(calls.recording_url, pbx.pbx_recording_url) is not null
),

pbx_only as (
    select
        toInt64(0) as call_id,
        pbx_call_id,
        toDateTime64(started_at, 3, 'UTC') as started_at,
        operator_id,
        operator_name,
        is_robot,
        direction,
        outcome,
        talk_seconds,
        false as is_in_crm,
        pbx_recording_url as recording_url,
        'pbx' as recording_source
    -- filtered apart: this select's is_in_crm alias would shadow the column in its WHERE
    from (select * from pbx where not is_in_crm and pbx_recording_url is not null)
),

calls as (
    select * from crm_calls
    union all
    select * from pbx_only
)

select
    toInt64(calls.call_id) as call_id,
    toString(calls.pbx_call_id) as pbx_call_id,
    toDateTime64(calls.started_at, 3, 'UTC') as started_at,
    toDate({{ company_date('calls.started_at') }}) as day,
    formatDateTime(calls.started_at, '%Y-%m-%d %H:%i', '{{ var("company_time_zone") }}') as call_time,
    toInt64(calls.operator_id) as operator_id,
    encodeXMLComponent(toString(calls.operator_name)) as operator_name,
    toBool(calls.is_robot) as is_robot,
    encodeXMLComponent(toString(calls.direction)) as direction,
    encodeXMLComponent(toString(calls.outcome)) as outcome,
    toUInt32(calls.talk_seconds) as talk_seconds,
    toBool(calls.is_in_crm) as is_in_crm,
    toString(calls.recording_source) as recording_source,
    toString(assumeNotNull(calls.recording_url)) as recording_url,
    toString(assumeNotNull({{ html_link('calls.recording_url', "'Listen'") }})) as recording_link
from calls
settings join_use_nulls = 1
