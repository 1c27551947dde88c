{{ config(tags=['full_scan']) }}
-- Every commission line equals the tier formula applied to that month's sales, recomputed from staging:
-- kits and net sales of completed vends in the hospital's local month, the plan's highest tier reached,
-- commission = round(net sales * rate, 2).
with sales as (
    select
        machines.hospital_id as hospital_id,
        toStartOfMonth({{ local_date('vends.device_time', 'hospitals.time_zone', ref('dim_hospitals')) }}) as sales_month,
        sum(vends.quantity) as kits,
        sum(vends.amount) as net_sales
    from {{ ref('stg_vend_transactions') }} as vends
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

select lines.hospital_id, lines.sales_month, lines.kits_sold, rates.kits, lines.commission_rub,
       round(rates.net_sales * rates.rate, 2) as expected
from {{ ref('mart_hospital_commissions_monthly') }} as lines
full outer join rates on rates.hospital_id = lines.hospital_id and rates.sales_month = lines.sales_month
where lines.kits_sold != rates.kits
   or lines.net_sales_rub != rates.net_sales
   or lines.commission_rub != round(rates.net_sales * rates.rate, 2)
