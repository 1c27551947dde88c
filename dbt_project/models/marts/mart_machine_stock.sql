-- Tag clock: the stock is today's and the sales rate is over the days before today, so the hourly build
-- (pulse/dbt/runner.py) rebuilds it when the date changes.
{{ config(tags=['clock']) }}
-- Stock per machine and product as it is now, with the machine's current sales rate of the product and how many days
-- the stock lasts at that rate (days of cover), and the stock-outs of the product at the machine over the same
-- window with the sales they cost. The window and the rate are defined once, by macros/machine_stock.sql: the
-- complete local days before today in the hospital's time zone (today is not over, so it would lower the rate).
-- Retired machines sell nothing any more and are left out.
{%- set window_days = sales_rate_window_days() %}
with machines as (
    select
        *,
        -- today in the hospital's zone; the model's only local_date call, which its unit tests pin to a date
        {{ local_date('now()', 'time_zone', ref('dim_machines')) }} as as_of_date
    from {{ ref('dim_machines') }}
    where status != 'retired'
),

per_product as (
    -- one pass over the product days (a view): the window's sums and the last sale
    select
        days.machine_id as machine_id,
        days.product_id as product_id,
        sumIf(days.kits_sold, in_window) as kits_sold,
        sumIf(days.out_of_stock_declines, in_window) as out_of_stock_declines,
        sumIf(days.declined_kits, in_window) as declined_kits,
        {{ sum_converted('if(in_window, days.lost_sales_reporting, 0)') }} as lost_sales_reporting,
        if(countIf(days.kits_sold > 0) = 0, NULL, maxIf(days.day, days.kits_sold > 0)) as last_sale_date
    from (
        select
            days.machine_id as machine_id,
            days.product_id as product_id,
            days.day as day,
            days.kits_sold as kits_sold,
            days.out_of_stock_declines as out_of_stock_declines,
            days.declined_kits as declined_kits,
            days.lost_sales_reporting as lost_sales_reporting,
            days.day >= machines.as_of_date - {{ window_days }} and days.day < machines.as_of_date as in_window
        from {{ ref('int_machine_product_days') }} as days
        inner join machines on machines.machine_id = days.machine_id
    ) as days
    group by machine_id, product_id
),

slots as (
    select
        machines.as_of_date as as_of_date,
        machines.hospital_id as hospital_id,
        machines.hospital_name as hospital_name,
        machines.machine_id as machine_id,
        machines.serial as machine_serial,
        machines.location as machine_location,
        machines.status as machine_status,
        products.product_id as product_id,
        products.sku as product_sku,
        products.product_name as product_name,
        products.kit_type as kit_type,
        products.size as product_size,
        stock.quantity as quantity,
        -- the days of the window the machine stood in its hospital: a machine installed last week has a week of sales
        least({{ window_days }}, greatest(1, dateDiff('day',
            coalesce(machines.installed_on, machines.as_of_date - {{ window_days }}), machines.as_of_date))) as sales_days
    from {{ ref('stg_machine_stock') }} as stock
    inner join machines on machines.machine_id = stock.machine_id
    inner join {{ ref('dim_products') }} as products on products.product_id = stock.product_id
),

rated as (
    select
        slots.as_of_date as as_of_date,
        slots.hospital_id as hospital_id,
        slots.hospital_name as hospital_name,
        slots.machine_id as machine_id,
        slots.machine_serial as machine_serial,
        slots.machine_location as machine_location,
        slots.machine_status as machine_status,
        slots.product_id as product_id,
        slots.product_sku as product_sku,
        slots.product_name as product_name,
        slots.kit_type as kit_type,
        slots.product_size as product_size,
        slots.quantity as quantity,
        slots.sales_days as sales_days,
        per_product.kits_sold as kits_sold_in_window,
        per_product.out_of_stock_declines as out_of_stock_declines_in_window,
        per_product.declined_kits as declined_kits_in_window,
        -- 0 without stock-out declines in the window (unmatched, the sum converted would read NULL)
        if(per_product.out_of_stock_declines > 0, per_product.lost_sales_reporting, 0) as lost_sales_in_window_reporting,
        per_product.last_sale_date as last_sale_date,
        toFloat64(per_product.kits_sold) / slots.sales_days as daily_sales_rate
    from slots
    left join per_product on per_product.machine_id = slots.machine_id and per_product.product_id = slots.product_id
)

select
    toDate(as_of_date) as as_of_date,
    toDate(as_of_date - {{ window_days }}) as window_start_date,
    toInt64(hospital_id) as hospital_id,
    toString(hospital_name) as hospital_name,
    toInt64(machine_id) as machine_id,
    toString(machine_serial) as machine_serial,
    machine_location,
    toString(machine_status) as machine_status,
    toInt64(product_id) as product_id,
    toString(product_sku) as product_sku,
    toString(product_name) as product_name,
    toString(kit_type) as kit_type,
    toString(product_size) as product_size,
    toInt64(quantity) as quantity,
    toBool(quantity = 0) as is_stocked_out,
    toUInt32(sales_days) as sales_days,
    toUInt64(kits_sold_in_window) as kits_sold_in_window,
    toFloat64(daily_sales_rate) as daily_sales_rate,
    -- NULL when nothing sold in the window: the stock lasts for an unknown time, not for ever (and never 0)
    if(daily_sales_rate > 0, toFloat64(quantity) / daily_sales_rate, NULL)::Nullable(Float64) as days_of_cover,
    last_sale_date::Nullable(Date) as last_sale_date,
    toUInt64(out_of_stock_declines_in_window) as out_of_stock_declines_in_window,
    toUInt64(declined_kits_in_window) as declined_kits_in_window,
    lost_sales_in_window_reporting::Nullable(Decimal(38, 2)) as lost_sales_in_window_reporting
from rated
