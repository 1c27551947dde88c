-- Vends reported by machines (live or uploaded later from an offline buffer): every version loaded into raw,
-- tombstones included. The one place raw.vend_transactions is renamed and typed; stg_vend_transactions keeps the
-- latest live version of each vend, and fct_vend_transactions reads the versions changed since its last run from
-- here (no FINAL, so its filter on _change_seq reaches the raw table).
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
    offline as is_offline,
    created_at,
    updated_at,
    _change_seq,
    _is_deleted,
    _loaded_at
from {{ source('raw', 'vend_transactions') }}
