-- Payments received from counterparties.
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as payment_id,
    external_id,
    invoice_id,
    counterparty_id,
    paid_on,
    amount,
    currency,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'payments') }} final
where _is_deleted = 0
