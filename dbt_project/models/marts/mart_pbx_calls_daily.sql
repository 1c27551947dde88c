-- PBX and CRM reconciled per day (company time zone) and PBX operator: calls the PBX recorded, those the CRM never
-- logged (no CRM call carries the PBX call id), and CRM calls whose recording link came from the PBX because the
-- CRM had none (int_pbx_calls: the CRM's link first, else the PBX's).
select
    toDate(day) as day,
    toString(operator_external_id) as operator_external_id,
    toInt64(any(operator_id)) as operator_id,
    toString(any(operator_name)) as operator_name,
    toBool(any(is_robot)) as is_robot,
    toUInt64(count()) as pbx_calls,
    toUInt64(countIf(is_answered)) as pbx_answered_calls,
    toUInt64(countIf(not is_in_crm)) as calls_not_in_crm,
    toUInt64(countIf(not is_in_crm and is_answered)) as answered_calls_not_in_crm,
    toUInt64(countIf(is_in_crm and recording_source = 'pbx')) as recordings_from_pbx
from {{ ref('int_pbx_calls') }}
group by day, operator_external_id
