{{ config(tags=['full_scan']) }}
-- Each customer's latest closing balance equals the sum of their ledger in raw (latest live version of every
-- entry, read straight from raw without staging), and every customer with ledger entries has a statement.
with raw_ledger as (
    select customer_id, sum(amount) as balance
    from (
        select id, argMax(customer_id, _change_seq) as customer_id, argMax(amount, _change_seq) as amount,
               argMax(_is_deleted, _change_seq) as is_deleted
        from {{ source('raw', 'account_entries') }}
        group by id
    )
    where is_deleted = 0
    group by customer_id
),

latest as (
    select customer_id, argMax(closing_balance, month) as closing_balance
    from {{ ref('mart_customer_spend_monthly') }}
    group by customer_id
)

select raw_ledger.customer_id, raw_ledger.balance, latest.closing_balance
from raw_ledger
left join latest on latest.customer_id = raw_ledger.customer_id
where latest.customer_id = 0 or latest.closing_balance != raw_ledger.balance
