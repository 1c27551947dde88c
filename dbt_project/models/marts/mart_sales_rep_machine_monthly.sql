-- What each sales rep's territory sold, per machine, product and local month (the hospital's time zone): vends,
-- kits and revenue, the authorisations declined (any reason) and those declined out of stock with the days it
-- happened and the sales they cost, and the previous month's kits and revenue for the trend. The sales and stock-outs
-- are mart_machine_product_daily's days summed per month (never recomputed from the vends); only the declines of every
-- reason, which no product-level model holds, are counted here from the authorisations. A machine belongs to the
-- territory of its hospital as the territory is now (dim_sales_rep_hospitals), for every month: a hospital that
-- changes hands takes its history to its new rep. A hospital looked after by two reps is in both their rows, so
-- summing over reps counts it twice.
with machines as (
    select * from {{ ref('dim_machines') }}
),

product_months as (
    -- (the columns are qualified: ClickHouse would read a bare name as the SELECT alias, an aggregate)
    select
        toStartOfMonth(days.day) as sales_month,
        days.machine_id as machine_id,
        days.product_id as product_id,
        sum(days.completed_vends) as completed_vends,
        sum(days.kits_sold) as kits_sold,
        -- NULL when a day with completed vends has no revenue in the reporting currency (a missing rate): the
        -- month is unknown rather than understated (a day without completed vends has NULL revenue and counts 0)
        if(countIf(days.completed_vends > 0 and days.revenue_reporting is null) > 0, NULL,
           sum(coalesce(days.revenue_reporting, 0))) as revenue_reporting,
        sum(days.out_of_stock_declines) as out_of_stock_declines,
        countIf(days.out_of_stock_declines > 0) as stock_out_days,
        sum(days.declined_kits) as declined_kits,
        {{ sum_converted('days.lost_sales_reporting') }} as lost_sales_reporting
    from {{ ref('mart_machine_product_daily') }} as days
    group by sales_month, machine_id, product_id
),

declines as (
    -- every declined authorisation of a known product at a known machine, whatever the reason (out_of_stock included)
    select
        assumeNotNull(auths.machine_id) as machine_id,
        assumeNotNull(auths.product_id) as product_id,
        toStartOfMonth({{ local_date('auths.requested_at', 'machines.time_zone', ref('dim_machines')) }}) as sales_month,
        count() as declines
    from {{ ref('fct_vend_authorisations') }} as auths
    inner join machines on machines.machine_id = auths.machine_id
    inner join {{ ref('dim_products') }} as products on products.product_id = auths.product_id
    where auths.is_declined and auths.product_id is not null
    group by machine_id, product_id, sales_month
),

latest as (
    select toStartOfMonth(max(day)) as latest_month from {{ ref('mart_machine_product_daily') }}
),

keys as (
    select sales_month, machine_id, product_id from product_months
    union distinct
    select sales_month, machine_id, product_id from declines
    union distinct
    -- the month after one with sales, so a product that stopped selling shows its fall against the month before
    -- (never past the latest month of data: no rows for months nobody has lived yet)
    select addMonths(product_months.sales_month, 1) as sales_month, product_months.machine_id, product_months.product_id
    from product_months
    cross join latest
    where product_months.kits_sold > 0 and addMonths(product_months.sales_month, 1) <= latest.latest_month
),

months as (
    select sales_month, addMonths(sales_month, -1) as previous_month, machine_id, product_id from keys
)

select
    toDate(months.sales_month) as sales_month,
    toInt64(territory.sales_rep_id) as sales_rep_id,
    toString(territory.sales_rep_name) as sales_rep_name,
    toInt64(machines.hospital_id) as hospital_id,
    toString(machines.hospital_name) as hospital_name,
    toInt64(months.machine_id) as machine_id,
    toString(machines.serial) as machine_serial,
    toInt64(months.product_id) as product_id,
    toString(products.sku) as product_sku,
    toString(products.product_name) as product_name,
    toString(products.kit_type) as kit_type,
    toString(products.size) as product_size,
    -- an unmatched LEFT JOIN row holds 0 (and NULL in a Nullable column): a month without sales sold nothing
    toUInt64(current.completed_vends) as completed_vends,
    toUInt64(current.kits_sold) as kits_sold,
    toDecimal128(if(current.completed_vends > 0, current.revenue_reporting, 0), 2)::Nullable(Decimal(38, 2))
        as revenue_reporting,
    toUInt64(declines.declines) as declines,
    toUInt64(current.out_of_stock_declines) as out_of_stock_declines,
    toUInt64(current.stock_out_days) as stock_out_days,
    toUInt64(current.declined_kits) as declined_kits,
    toDecimal128(if(current.out_of_stock_declines > 0, current.lost_sales_reporting, 0), 2)::Nullable(Decimal(38, 2))
        as lost_sales_reporting,
    toUInt64(previous.kits_sold) as previous_month_kits_sold,
    toDecimal128(if(previous.completed_vends > 0, previous.revenue_reporting, 0), 2)::Nullable(Decimal(38, 2))
        as previous_month_revenue_reporting
from months
inner join machines on machines.machine_id = months.machine_id
inner join {{ ref('dim_products') }} as products on products.product_id = months.product_id
inner join {{ ref('dim_sales_rep_hospitals') }} as territory on territory.hospital_id = machines.hospital_id
left join product_months as current
    on current.machine_id = months.machine_id and current.product_id = months.product_id
    and current.sales_month = months.sales_month
left join product_months as previous
    on previous.machine_id = months.machine_id and previous.product_id = months.product_id
    and previous.sales_month = months.previous_month
left join declines
    on declines.machine_id = months.machine_id and declines.product_id = months.product_id
    and declines.sales_month = months.sales_month
