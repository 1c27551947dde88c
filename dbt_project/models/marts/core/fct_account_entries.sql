{{
    config(
        materialized='incremental',
        incremental_strategy='delete_insert',
        unique_key='account_entry_id',
        engine=replicated_engine('MergeTree()'),
        order_by='(customer_id, occurred_at, account_entry_id)',
        partition_by='toYYYYMM(occurred_at)',
        post_hook="{{ delete_tombstones() }}",
    )
}}
-- The customer ledger: one row per entry (top-up, vend debit, refund, adjustment), signed (credit > 0).
-- A customer's balance at any time is the sum of their entries up to it.
with entries as (
    {{ latest_versions(ref('stg_account_entries'), ref('stg_account_entries_versions')) }}
),

fx as (
    select * from {{ ref('int_fx_rates') }}
)

select
    entries.account_entry_id as account_entry_id,
    entries.client_entry_id as client_entry_id,
    entries.customer_id as customer_id,
    entries.kind as kind,
    entries.entry_source as entry_source,
    entries.amount as amount,
    entries.currency as currency,
    {{ to_reporting('entries.amount', 'entries.currency', 'fx.rate_to_reporting', 'fx.has_rate') }} as amount_reporting,
    entries.occurred_at as occurred_at,
    entries.vend_transaction_id as vend_transaction_id,
    entries.payroll_hospital_id as payroll_hospital_id,
    entries.operator_id as operator_id,
    entries._change_seq as _change_seq,
    entries._is_deleted as _is_deleted,
    entries._loaded_at as _loaded_at
from entries
asof left join fx
    on fx.currency = entries.currency
    and fx.rate_date <= toDate32(entries.occurred_at)
