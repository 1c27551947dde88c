{{ config(tags=['full_scan']) }}
-- The incrementally maintained vend totals equal the totals recomputed from fct_vend_transactions, key by key
-- (every key on either side, every measure): what the change log carried was applied exactly once.
with recomputed as (
    select
        {{ local_date('vends.device_time', 'machines.time_zone', ref('dim_machines')) }} as local_date,
        vends.machine_id as machine_id,
        vends.customer_id as customer_id,
        toStartOfMonth({{ company_date('vends.device_time') }}) as company_month,
        toInt64(count()) as vends,
        toInt64(countIf(vends.is_completed)) as completed_vends,
        toInt64(countIf(vends.status = 'failed')) as failed_vends,
        toInt64(countIf(vends.status = 'refunded')) as refunded_vends,
        toInt64(countIf(vends.is_offline)) as offline_vends,
        toInt64(sumIf(vends.quantity, vends.is_completed)) as kits_sold,
        toInt64(sumIf(vends.quantity, vends.status = 'refunded')) as refunded_kits,
        toDecimal128(sumIf(coalesce(vends.amount_reporting, 0), vends.is_completed), 2) as revenue_reporting,
        toDecimal128(sumIf(coalesce(vends.amount_reporting, 0), vends.status = 'refunded'), 2) as refunded_reporting
    from {{ ref('fct_vend_transactions') }} as vends
    left join {{ ref('dim_machines') }} as machines on machines.machine_id = vends.machine_id
    group by local_date, machine_id, customer_id, company_month
)

select *
from recomputed
full outer join {{ ref('int_vend_daily') }} as daily
    using (local_date, machine_id, customer_id, company_month)
where recomputed.vends != daily.vends
   or recomputed.completed_vends != daily.completed_vends
   or recomputed.failed_vends != daily.failed_vends
   or recomputed.refunded_vends != daily.refunded_vends
   or recomputed.offline_vends != daily.offline_vends
   or recomputed.kits_sold != daily.kits_sold
   or recomputed.refunded_kits != daily.refunded_kits
   or recomputed.revenue_reporting != daily.revenue_reporting
   or recomputed.refunded_reporting != daily.refunded_reporting
