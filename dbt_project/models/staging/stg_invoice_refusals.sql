-- Amounts of receivable invoices an insurer refused to pay, with the reason.
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as refusal_id,
    external_id,
    invoice_id,
    refused_on,
    amount,
    currency,
    reason,
    comment,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'invoice_refusals') }} final
where _is_deleted = 0
