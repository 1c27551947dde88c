-- Sales and stock-outs per machine, product and local day (the hospital's time zone): kits sold and revenue, and the
-- authorisations declined because the machine was out of the product with the sales they cost (computed in
-- int_machine_product_days from the vend totals, never from the vends), with the machine's hospital and the
-- product's names.
select
    days.day as day,
    toInt64(machines.hospital_id) as hospital_id,
    toString(machines.hospital_name) as hospital_name,
    days.machine_id as machine_id,
    toString(machines.serial) as machine_serial,
    days.product_id as product_id,
    toString(products.sku) as product_sku,
    toString(products.product_name) as product_name,
    toString(products.kit_type) as kit_type,
    toString(products.size) as product_size,
    days.completed_vends as completed_vends,
    days.kits_sold as kits_sold,
    days.revenue_reporting as revenue_reporting,
    days.out_of_stock_declines as out_of_stock_declines,
    days.declined_kits as declined_kits,
    days.lost_sales_reporting as lost_sales_reporting
from {{ ref('int_machine_product_days') }} as days
inner join {{ ref('dim_machines') }} as machines on machines.machine_id = days.machine_id
inner join {{ ref('dim_products') }} as products on products.product_id = days.product_id
