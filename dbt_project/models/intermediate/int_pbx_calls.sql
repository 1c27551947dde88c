-- Every call the PBX recorded, reconciled with the CRM: the CRM call logged for it (calls.external_id =
-- the PBX call id), the operator it rang (the PBX names operators by their external id), and the recording link to
-- use. Calls the CRM never logged (spam, wrong numbers, calls operators did not log) have no CRM call.
-- Recording precedence: the CRM's link when it has a web link, else the PBX's (both http(s) only, macros/calls.sql).
with pbx as (
    select * from {{ ref('stg_feed_telephony') }}
),

crm as (
    -- calls.external_id is unique in the store; one CRM call per PBX id all the same
    select pbx_call_id, call_id, recording_url
    from {{ ref('fct_calls') }}
    where pbx_call_id is not null and pbx_call_id != ''
    order by call_id
    limit 1 by pbx_call_id
),

operators as (
    select operator_id, operator_external_id, operator_name, is_robot
    from {{ ref('dim_operators') }}
    where operator_external_id is not null and operator_external_id != ''
    order by operator_id
    limit 1 by operator_external_id
)

select
    pbx.pbx_call_id as pbx_call_id,
    pbx.started_at as started_at,
    {{ company_date('pbx.started_at') }} as day,
    pbx.direction as direction,
    coalesce(pbx.operator_external_id, '') as operator_external_id,
    coalesce(operators.operator_id, toInt64(0)) as operator_id,
    coalesce(operators.operator_name,
             if(pbx.operator_external_id is null, '(unrouted)',
                concat('(unknown ', assumeNotNull(pbx.operator_external_id), ')'))) as operator_name,
    pbx.is_robot as is_robot,
    pbx.answered_at is not null as is_answered,
    pbx.outcome as outcome,
    toUInt32(pbx.duration_seconds) as talk_seconds,
    crm.call_id as crm_call_id,
    crm.call_id is not null as is_in_crm,
    crm.recording_url as crm_recording_url,
    {{ http_url('pbx.recording_url') }} as pbx_recording_url,
    coalesce(crm.recording_url, pbx_recording_url) as recording_url,
    multiIf(crm.recording_url is not null, 'crm', pbx_recording_url is not null, 'pbx', NULL) as recording_source
from pbx
left join crm on crm.pbx_call_id = pbx.pbx_call_id
left join operators on operators.operator_external_id = pbx.operator_external_id
settings join_use_nulls = 1
