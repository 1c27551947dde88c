-- Tag clock: a machine's days run up to today in its hospital's time zone, so the hourly build (pulse/dbt/runner.py)
-- rebuilds it when the date changes.
{{ config(tags=['clock']) }}
-- Every day of every machine, silent ones included: kits, revenue and stock-out declines with the sales they cost,
-- whether the machine was silent, and what a sales rep asks of the machine now (its lowest days of cover, whether it
-- is silent now). A machine's activity is mart_vending_daily's - a row there is a day the machine was active (its
-- active_machines metric counts them): a vend reported for the day (online or uploaded later from its buffer), an
-- authorisation request or a PIN lockout at it. Read from that table (int_machine_days' rows, computed once), not
-- recomputed from the authorisations. A silent day is a complete local day without any; a machine that was offline but kept
-- selling from its buffer was not silent. Days run from the machine's installation (not before the first day of
-- vending data) to today, or to its last active day once it is retired.
with machines as (
    select
        *,
        -- the model's only local_date call, which its unit tests pin to a date
        {{ local_date('now()', 'time_zone', ref('dim_machines')) }} as today
    from {{ ref('dim_machines') }}
),

activity as (
    select day, machine_id, kits_sold, revenue_reporting, toUInt8(1) as is_active from {{ ref('mart_vending_daily') }}
),

first_data_day as (
    select minOrNull(day) as first_day from activity
),

last_active as (
    select machine_id, toNullable(max(day)) as last_active_date from activity group by machine_id
),

spans as (
    select
        machines.machine_id as machine_id,
        machines.today as today,
        last_active.last_active_date as last_active_date,
        greatest(first_data_day.first_day, toDate(coalesce(machines.installed_on, first_data_day.first_day))) as first_day,
        if(machines.status = 'retired', last_active.last_active_date,
           greatest(machines.today, coalesce(last_active.last_active_date, machines.today))) as last_day
    from machines
    cross join first_data_day
    left join last_active on last_active.machine_id = machines.machine_id
    where first_data_day.first_day is not null
),

days as (
    select spans.*, addDays(assumeNotNull(first_day), offset) as day
    from spans
    array join range(toUInt32(dateDiff('day', assumeNotNull(first_day), assumeNotNull(last_day)) + 1)) as offset
    where last_day >= first_day
),

stockouts as (
    select
        product_days.machine_id as machine_id,
        product_days.day as day,
        sum(product_days.out_of_stock_declines) as out_of_stock_declines,
        {{ sum_converted('product_days.lost_sales_reporting') }} as lost_sales_reporting
    from {{ ref('int_machine_product_days') }} as product_days
    where product_days.out_of_stock_declines > 0
    group by machine_id, day
),

cover as (
    select machine_id, min(days_of_cover) as lowest_days_of_cover
    from {{ ref('mart_machine_stock') }}
    group by machine_id
)

select
    toDate(days.day) as day,
    toInt64(machines.hospital_id) as hospital_id,
    toString(machines.hospital_name) as hospital_name,
    toInt64(days.machine_id) as machine_id,
    toString(machines.serial) as machine_serial,
    toString(machines.status) as machine_status,
    toUInt64(activity.kits_sold) as kits_sold,
    toDecimal128(activity.revenue_reporting, 2) as revenue_reporting,
    -- the stock-out declines of the machine's products (mart_machine_product_daily's, summed), with their lost sales
    toUInt64(stockouts.out_of_stock_declines) as out_of_stock_declines,
    -- 0 on a day without stock-out declines (an unmatched LEFT JOIN row holds NULL)
    toDecimal128(if(stockouts.out_of_stock_declines > 0, stockouts.lost_sales_reporting, 0), 2) as lost_sales_reporting,
    -- NULL for today (and a day after it a machine's clock may report): the day is not over
    if(days.day < days.today, activity.is_active = 0, NULL)::Nullable(Bool) as is_silent,
    days.last_active_date::Nullable(Date) as last_active_date,
    -- silent since the start of yesterday at least: nothing yesterday, nothing today so far
    toBool(machines.status != 'retired' and ifNull(days.last_active_date < days.today - 1, true)) as is_silent_now,
    cover.lowest_days_of_cover::Nullable(Float64) as current_lowest_days_of_cover
from days
inner join machines on machines.machine_id = days.machine_id
left join activity on activity.machine_id = days.machine_id and activity.day = days.day
left join stockouts on stockouts.machine_id = days.machine_id and stockouts.day = days.day
left join cover on cover.machine_id = days.machine_id
