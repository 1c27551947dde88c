-- Kits sold and net sales per hospital and local calendar month: the base of the commission statement.
-- Net sales are completed vends only (failed vends dispensed nothing; refunded ones were given back).
select
    hospital_id,
    local_month as sales_month,
    toUInt64(countIf(is_completed)) as completed_vends,
    toUInt64(sumIf(quantity, is_completed)) as kits_sold,
    toDecimal128(sumIf(amount_rub, is_completed), 2) as net_sales_rub,
    toUInt64(sumIf(quantity, status = 'refunded')) as refunded_kits,
    toDecimal128(sumIf(amount_rub, status = 'refunded'), 2) as refunded_rub
from {{ ref('int_vend_sales') }}
group by hospital_id, sales_month
