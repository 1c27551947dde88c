-- Sales and stock-outs per machine, product and local day (the hospital's time zone): kits sold and revenue (from the
-- vend totals int_vend_product_daily, valued as int_vend_daily values them), and the authorisations declined because
-- the machine was out of the product, with the sales they cost. A view read by the three machine stock marts, so
-- that each follows the totals directly. Declines for an unknown machine or product are not here.
with machines as (
    select * from {{ ref('dim_machines') }}
),

sales as (
    select
        machine_id,
        product_id,
        local_date as day,
        completed_vends,
        kits_sold,
        -- NULL when none of the day's completed vends has an amount in the reporting currency, as in int_machine_days
        if(priced_completed_vends = 0, NULL, revenue_reporting) as revenue_reporting
    from {{ ref('int_vend_product_daily') }}
),

stockouts as (
    -- A lost sale is what the declined request would have paid: the quantity asked for at the unit price the API
    -- quoted (the product's price valid at that moment, in the account's currency), converted to the reporting
    -- currency at the rate of its UTC date, as fct_vend_transactions converts a vend's amount. An upper bound: the
    -- customer may have bought another product or at another machine instead.
    select
        -- never NULL here (the inner join and the filter below), so the keys stay non-nullable
        assumeNotNull(auths.machine_id) as machine_id,
        assumeNotNull(auths.product_id) as product_id,
        {{ local_date('auths.requested_at', 'machines.time_zone', ref('dim_machines')) }} as day,
        count() as out_of_stock_declines,
        sum(auths.quantity) as declined_kits,
        {{ sum_reporting('auths.price * auths.quantity', 'customers.account_currency', 'fx.rate_to_reporting', 'fx.has_rate') }}
            as lost_sales_reporting
    from {{ ref('fct_vend_authorisations') }} as auths
    inner join machines on machines.machine_id = auths.machine_id
    left join {{ ref('dim_customers') }} as customers on customers.customer_id = auths.customer_id
    asof left join {{ ref('int_fx_rates') }} as fx
        on fx.currency = customers.account_currency
        and fx.rate_date <= toDate32(auths.requested_at)
    where auths.decline_reason = 'out_of_stock' and auths.product_id is not null
    group by machine_id, product_id, day
),

keys as (
    select machine_id, product_id, day from sales
    union distinct
    select machine_id, product_id, day from stockouts
)

select
    toDate(keys.day) as day,
    toInt64(keys.machine_id) as machine_id,
    toInt64(keys.product_id) as product_id,
    toUInt64(coalesce(sales.completed_vends, 0)) as completed_vends,
    toUInt64(coalesce(sales.kits_sold, 0)) as kits_sold,
    toDecimal128(sales.revenue_reporting, 2) as revenue_reporting,
    toUInt64(coalesce(stockouts.out_of_stock_declines, 0)) as out_of_stock_declines,
    toUInt64(coalesce(stockouts.declined_kits, 0)) as declined_kits,
    -- 0 on a day without stock-out declines; NULL when a declined request has no rate to the reporting currency
    toDecimal128(if(stockouts.out_of_stock_declines > 0, stockouts.lost_sales_reporting, 0), 2) as lost_sales_reporting
from keys
inner join machines on machines.machine_id = keys.machine_id
left join sales
    on sales.machine_id = keys.machine_id and sales.product_id = keys.product_id and sales.day = keys.day
left join stockouts
    on stockouts.machine_id = keys.machine_id and stockouts.product_id = keys.product_id and stockouts.day = keys.day
