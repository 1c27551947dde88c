-- Top-ups that did not go through (declined card, processor error): nothing was credited, so they are not in the
-- ledger (stg_account_entries).
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as topup_failure_id,
    attempt_id,
    customer_id,
    source as topup_source,
    amount,
    currency,
    reason,
    processor_ref,
    occurred_at,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'topup_failures') }} final
where _is_deleted = 0
