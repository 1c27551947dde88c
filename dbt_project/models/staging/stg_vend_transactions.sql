-- Vends reported by machines (live or uploaded later from an offline buffer).
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as vend_transaction_id,
    machine_id,
    customer_id,
    product_id,
    authorisation_id,
    quantity,
    unit_price,
    amount,
    currency,
    status,
    device_time,
    received_at,
    offline,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'vend_transactions') }} final
where _is_deleted = 0
