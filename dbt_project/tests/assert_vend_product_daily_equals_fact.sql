{{ config(tags=['full_scan']) }}
-- The incrementally maintained vend totals per machine, product and local day equal the totals recomputed from
-- fct_vend_transactions, key by key (every key on either side, every measure): what the change log carried was
-- applied exactly once (as assert_vend_daily_equals_fact checks int_vend_daily).
with recomputed as (
    select
        {{ local_date('vends.device_time', 'machines.time_zone', ref('dim_machines')) }} as local_date,
        vends.machine_id as machine_id,
        vends.product_id as product_id,
        toInt64(count()) as vends,
        toInt64(countIf(vends.is_completed)) as completed_vends,
        toInt64(sumIf(vends.quantity, vends.is_completed)) as kits_sold,
        toInt64(countIf(vends.is_completed and vends.amount_reporting is not null)) as priced_completed_vends,
        toDecimal128(sumIf(coalesce(vends.amount_reporting, 0), vends.is_completed), 2) as revenue_reporting
    from {{ ref('fct_vend_transactions') }} as vends
    left join {{ ref('dim_machines') }} as machines on machines.machine_id = vends.machine_id
    group by local_date, machine_id, product_id
)

select *
from recomputed
full outer join {{ ref('int_vend_product_daily') }} as daily
    using (local_date, machine_id, product_id)
where recomputed.vends != daily.vends
   or recomputed.completed_vends != daily.completed_vends
   or recomputed.kits_sold != daily.kits_sold
   or recomputed.priced_completed_vends != daily.priced_completed_vends
   or recomputed.revenue_reporting != daily.revenue_reporting
