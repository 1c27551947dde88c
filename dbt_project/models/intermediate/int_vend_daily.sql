-- Current vend totals per machine, customer, local day (hospital time zone) and company month: the latest
-- version of each key in int_vend_daily_versions, without keys whose vends all went away and without its
-- state row. What the vending, commission, customer spend and executive marts read instead of 10M vends.
select
    local_date,
    machine_id,
    customer_id,
    company_month,
    vends,
    completed_vends,
    failed_vends,
    refunded_vends,
    offline_vends,
    kits_sold,
    refunded_kits,
    priced_completed_vends,
    priced_refunded_vends,
    revenue_reporting,
    refunded_reporting
from {{ ref('int_vend_daily_versions') }} final
where vends > 0
