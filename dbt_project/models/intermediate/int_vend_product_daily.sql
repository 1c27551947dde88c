-- Current vend totals per machine, product and local day (hospital time zone): the latest version of each key in
-- int_vend_product_daily_versions, without keys whose vends all went away and without its state row. What the
-- machine stock marts read instead of the vends.
select
    local_date,
    machine_id,
    product_id,
    vends,
    completed_vends,
    kits_sold,
    priced_completed_vends,
    revenue_reporting
from {{ ref('int_vend_product_daily_versions') }} final
where vends > 0
