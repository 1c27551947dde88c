-- Vending operations per machine and local day (the hospital's time zone): vends, kits and revenue, failed and
-- refunded vends, the share uploaded from an offline buffer, authorisation declines by reason and PIN lockouts
-- (the pin_lockout alerts, on the machine and day each was raised).
-- A view read by mart_vending_daily (which adds the machine's serial and hospital) and by mart_executive_kpis_daily
-- (which sums it per day), so that both marts follow int_vend_daily directly and the hourly build makes them side
-- by side instead of the KPIs waiting for the vending mart. Declines for an unknown machine have no machine and
-- are not here.
{% set reasons = ['unknown_customer', 'unknown_product', 'bad_pin', 'pin_locked', 'blocked',
                  'insufficient_funds', 'out_of_stock', 'no_price'] %}
with machines as (
    select * from {{ ref('dim_machines') }}
),

sales as (
    select
        machine_id,
        local_date as day,
        sum(vends) as vends,
        sum(completed_vends) as completed_vends,
        sum(failed_vends) as failed_vends,
        sum(refunded_vends) as refunded_vends,
        sum(kits_sold) as kits_sold,
        -- NULL when no completed vend of the day has an amount in the reporting currency (no FX rate), as summing the vends would give
        if(sum(priced_completed_vends) = 0, NULL, sum(revenue_reporting)) as revenue_reporting,
        sum(offline_vends) as offline_vends
    from {{ ref('int_vend_daily') }}
    group by machine_id, day
),

auths as (
    select
        auths.machine_id as machine_id,
        {{ local_date('auths.requested_at', 'machines.time_zone', ref('dim_machines')) }} as day,
        count() as authorisations,
        countIf(auths.is_declined) as declines
        {%- for reason in reasons %},
        countIf(auths.decline_reason = '{{ reason }}') as declines_{{ reason }}
        {%- endfor %}
    from {{ ref('fct_vend_authorisations') }} as auths
    inner join machines on machines.machine_id = auths.machine_id
    group by machine_id, day
),

lockout_alerts as (
    -- One lock, however many pin_lockout rules raised it (each rule raises its own alert in the same round).
    select
        customer_id,
        raised_at,
        any(machine_id) as machine_id,
        max(occurrences) as occurrences
    from {{ ref('stg_alerts') }}
    where kind = 'pin_lockout'
    group by customer_id, raised_at
),

lockouts as (
    select
        alerts.machine_id as machine_id,
        {{ local_date('alerts.raised_at', 'machines.time_zone', ref('dim_machines')) }} as day,
        -- a customer locked again within the rule's cooldown reopens the alert: each lock is an occurrence
        sum(alerts.occurrences) as pin_lockouts
    from lockout_alerts as alerts
    inner join machines on machines.machine_id = alerts.machine_id
    group by machine_id, day
),

keys as (
    select machine_id, day from sales
    union distinct
    select machine_id, day from auths
    union distinct
    select machine_id, day from lockouts
)

select
    toDate(keys.day) as day,
    toInt64(keys.machine_id) as machine_id,
    toUInt64(sales.vends) as vends,
    toUInt64(sales.completed_vends) as completed_vends,
    toUInt64(sales.failed_vends) as failed_vends,
    toUInt64(sales.refunded_vends) as refunded_vends,
    toUInt64(sales.kits_sold) as kits_sold,
    toDecimal128(sales.revenue_reporting, 2) as revenue_reporting,
    toUInt64(sales.offline_vends) as offline_vends,
    toFloat64(if(sales.vends = 0, 0, sales.offline_vends / sales.vends)) as offline_share,
    toUInt64(auths.authorisations) as authorisations,
    toUInt64(auths.declines) as declines,
    {%- for reason in reasons %}
    toUInt64(auths.declines_{{ reason }}) as declines_{{ reason }},
    {%- endfor %}
    toUInt64(lockouts.pin_lockouts) as pin_lockouts
from keys
inner join machines on machines.machine_id = keys.machine_id
left join sales on sales.machine_id = keys.machine_id and sales.day = keys.day
left join auths on auths.machine_id = keys.machine_id and auths.day = keys.day
left join lockouts on lockouts.machine_id = keys.machine_id and lockouts.day = keys.day
