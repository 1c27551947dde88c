-- Ledger of customer accounts; balance = sum(amount). Append-only. Every version loaded into raw, tombstones
-- included. The one place raw.account_entries is renamed and typed; stg_account_entries keeps the latest live
-- version of each entry, and fct_account_entries reads the versions changed since its last run from here (no FINAL,
-- so its filter on _change_seq reaches the raw table).
select
    id as account_entry_id,
    entry_id as client_entry_id,
    customer_id,
    kind,
    source as entry_source,
    amount,
    currency,
    occurred_at,
    vend_transaction_id,
    hospital_id as payroll_hospital_id,
    operator_id,
    processor_ref,
    note,
    created_at,
    updated_at,
    _change_seq,
    _is_deleted,
    _loaded_at
from {{ source('raw', 'account_entries') }}
