-- The alert log for operators, per day the alerts were raised (company time zone), kind, severity and hospital:
-- how many were raised, how many of those were acknowledged and resolved since, how many still stand, and how long
-- acknowledging and resolving took. The hospital is the alert's own, else its machine's (alerts written before the
-- alert log had hospitals); 0 when it concerns none (e.g. a company-wide metric).
with alerts as (
    select
        alerts.alert_id as alert_id,
        {{ company_date('alerts.raised_at') }} as day,
        alerts.kind as kind,
        alerts.severity as severity,
        coalesce(alerts.hospital_id, machines.hospital_id, toInt64(0)) as hospital_id,
        alerts.status as status,
        alerts.occurrences as occurrences,
        alerts.raised_at as raised_at,
        alerts.acknowledged_at as acknowledged_at,
        alerts.resolved_at as resolved_at
    from {{ ref('stg_alerts') }} as alerts
    left join {{ ref('dim_machines') }} as machines on machines.machine_id = alerts.machine_id
    settings join_use_nulls = 1
),

grouped as (
    select
        day,
        kind,
        severity,
        hospital_id,
        count() as raised,
        sum(occurrences) as occurrences,
        -- acknowledged: by someone (acknowledged_at), or marked so without a time (a status edited by hand)
        countIf(acknowledged_at is not null or status = 'acknowledged') as acknowledged,
        countIf(status = 'resolved') as resolved,
        countIf(acknowledged_at is not null) as acknowledged_timed,
        sumIf(greatest(dateDiff('second', raised_at, acknowledged_at), 0) / 60, acknowledged_at is not null)
            as minutes_to_acknowledge,
        medianExactIf(greatest(dateDiff('second', raised_at, acknowledged_at), 0) / 60, acknowledged_at is not null)
            as median_ack,
        countIf(status = 'resolved' and resolved_at is not null) as resolved_timed,
        sumIf(greatest(dateDiff('second', raised_at, resolved_at), 0) / 60, status = 'resolved' and resolved_at is not null)
            as minutes_to_resolve,
        medianExactIf(greatest(dateDiff('second', raised_at, resolved_at), 0) / 60,
                      status = 'resolved' and resolved_at is not null) as median_resolve
    from alerts
    group by day, kind, severity, hospital_id
)

select
    toDate(grouped.day) as day,
    toString(grouped.kind) as kind,
    toString(grouped.severity) as severity,
    toInt64(grouped.hospital_id) as hospital_id,
    toString(if(grouped.hospital_id = 0, '(no hospital)', coalesce(hospitals.hospital_name, '(unknown hospital)')))
        as hospital_name,
    toUInt64(grouped.raised) as raised,
    toUInt64(grouped.occurrences) as occurrences,
    toUInt64(grouped.acknowledged) as acknowledged,
    toUInt64(grouped.resolved) as resolved,
    toUInt64(grouped.raised - grouped.resolved) as unresolved,
    toUInt64(grouped.acknowledged_timed) as acknowledged_timed,
    toFloat64(coalesce(grouped.minutes_to_acknowledge, 0)) as minutes_to_acknowledge,
    if(grouped.acknowledged_timed = 0, NULL, toFloat64(grouped.median_ack)) as median_minutes_to_acknowledge,
    toUInt64(grouped.resolved_timed) as resolved_timed,
    toFloat64(coalesce(grouped.minutes_to_resolve, 0)) as minutes_to_resolve,
    if(grouped.resolved_timed = 0, NULL, toFloat64(grouped.median_resolve)) as median_minutes_to_resolve
from grouped
left join {{ ref('dim_hospitals') }} as hospitals on hospitals.hospital_id = grouped.hospital_id
settings join_use_nulls = 1
