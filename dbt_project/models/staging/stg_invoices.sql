-- Invoices between the company and its counterparties, in any currency: receivable (the company bills) or payable.
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as invoice_id,
    external_id,
    number,
    counterparty_id,
    issued_on,
    due_on,
    amount,
    currency,
    status,
    direction,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'invoices') }} final
where _is_deleted = 0
