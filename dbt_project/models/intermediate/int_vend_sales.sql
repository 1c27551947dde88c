-- Vends with the machine's hospital and the sale's local date and month in the hospital's time zone
-- (commissions and vending operations are reported in the hospital's local calendar).
select
    vends.vend_transaction_id as vend_transaction_id,
    vends.machine_id as machine_id,
    machines.hospital_id as hospital_id,
    vends.customer_id as customer_id,
    vends.product_id as product_id,
    vends.quantity as quantity,
    vends.amount as amount,
    vends.currency as currency,
    vends.amount_reporting as amount_reporting,
    vends.status as status,
    vends.is_completed as is_completed,
    vends.is_offline as is_offline,
    vends.device_time as device_time,
    {{ local_date('vends.device_time', 'machines.time_zone', ref('dim_machines')) }} as local_date,
    toStartOfMonth({{ local_date('vends.device_time', 'machines.time_zone', ref('dim_machines')) }}) as local_month
from {{ ref('fct_vend_transactions') }} as vends
inner join {{ ref('dim_machines') }} as machines
    on machines.machine_id = vends.machine_id
