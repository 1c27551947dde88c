-- Completed vends per hospital, local calendar month and kit: what the hospital statement lists under "by kit".
-- A vend in another currency without a rate on its day has no amount in the reporting currency: it is counted in vends_without_rate
-- (with its currency) instead of silently lowering revenue_reporting, so the statement can refuse to print.
select
    toInt64(sales.hospital_id) as hospital_id,
    toDate(sales.local_month) as sales_month,
    toInt64(sales.product_id) as product_id,
    toString(products.sku) as sku,
    toString(products.product_name) as product_name,
    toUInt64(sum(sales.quantity)) as kits_sold,
    toDecimal128(sum(coalesce(sales.amount_reporting, 0)), 2) as revenue_reporting,
    toUInt64(countIf(sales.amount_reporting is null)) as vends_without_rate,
    groupUniqArrayIf(sales.currency, sales.amount_reporting is null) as currencies_without_rate
from {{ ref('int_vend_sales') }} as sales
inner join {{ ref('dim_products') }} as products on products.product_id = sales.product_id
where sales.is_completed
group by hospital_id, sales_month, product_id, sku, product_name
