-- Kits sold and net sales per hospital and local calendar month: the base of the commission statement.
-- Net sales are completed vends only (failed vends dispensed nothing; refunded ones were given back).
-- Summed from the daily vend totals (int_vend_daily) of the hospital's machines; an amount is NULL when no
-- vend in it has an amount in the reporting currency (no FX rate known), as a sum over the vends themselves would be.
select
    machines.hospital_id as hospital_id,
    toStartOfMonth(daily.local_date) as sales_month,
    toUInt64(sum(daily.completed_vends)) as completed_vends,
    toUInt64(sum(daily.kits_sold)) as kits_sold,
    if(sum(daily.priced_completed_vends) = 0, NULL, toDecimal128(sum(daily.revenue_reporting), 2)) as net_sales_reporting,
    toUInt64(sum(daily.refunded_kits)) as refunded_kits,
    if(sum(daily.priced_refunded_vends) = 0, NULL, toDecimal128(sum(daily.refunded_reporting), 2)) as refunded_reporting
from {{ ref('int_vend_daily') }} as daily
inner join {{ ref('dim_machines') }} as machines
    on machines.machine_id = daily.machine_id
group by hospital_id, sales_month
