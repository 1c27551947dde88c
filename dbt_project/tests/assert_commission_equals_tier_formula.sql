{{ config(tags=['full_scan']) }}
-- Every commission line equals the tier formula applied to that month's sales, recomputed from staging:
-- kits and net sales of completed vends in the hospital's local month (each vend converted to the reporting
-- currency at the rate of its day, as the facts do), the plan's highest tier reached, commission =
-- round(net sales * rate, 2).
with fx as (
    select * from {{ ref('int_fx_rates') }}
),

sales as (
    select
        machines.hospital_id as hospital_id,
        toStartOfMonth({{ local_date('vends.device_time', 'hospitals.time_zone', ref('dim_hospitals')) }}) as sales_month,
        sum(vends.quantity) as kits,
        sum({{ to_reporting('vends.amount', 'vends.currency', 'fx.rate_to_reporting', 'fx.has_rate') }}) as net_sales
    from {{ ref('stg_vend_transactions') }} as vends
    asof left join fx on fx.currency = vends.currency and fx.rate_date <= toDate32(vends.device_time)
    inner join {{ ref('stg_machines') }} as machines on machines.machine_id = vends.machine_id
    inner join {{ ref('stg_hospitals') }} as hospitals on hospitals.hospital_id = machines.hospital_id
    where vends.status = 'completed'
    group by hospital_id, sales_month
),

rates as (
    select
        sales.hospital_id as hospital_id,
        sales.sales_month as sales_month,
        any(sales.kits) as kits,
        any(sales.net_sales) as net_sales,
        argMaxIf(tiers.rate, tiers.min_monthly_kits, tiers.min_monthly_kits <= sales.kits) as rate
    from sales
    inner join {{ ref('stg_hospitals') }} as hospitals on hospitals.hospital_id = sales.hospital_id
    inner join {{ ref('stg_commission_tiers') }} as tiers on tiers.plan_id = hospitals.commission_plan_id
    group by hospital_id, sales_month
)

select lines.hospital_id, lines.sales_month, lines.kits_sold, rates.kits, lines.commission_reporting,
       round(rates.net_sales * rates.rate, 2) as expected
from {{ ref('mart_hospital_commissions_monthly') }} as lines
full outer join rates on rates.hospital_id = lines.hospital_id and rates.sales_month = lines.sales_month
where lines.kits_sold != rates.kits
   or lines.net_sales_reporting != rates.net_sales
   or lines.commission_reporting != round(rates.net_sales * rates.rate, 2)
