-- Ledger of customer accounts; balance = sum(amount). Append-only.
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as account_entry_id,
    entry_id,
    customer_id,
    kind,
    source,
    amount,
    currency,
    occurred_at,
    vend_transaction_id,
    hospital_id,
    operator_id,
    processor_ref,
    note,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'account_entries') }} final
where _is_deleted = 0
