-- Top-ups per day (company time zone) and source: those credited to the ledger and those that failed (declined
-- card, processor error: nothing credited), with their amounts in the reporting currency, each at the rate of its
-- day (NULL when one has no rate). A failure counts as recovered when the same account was credited a top-up
-- within 24 hours after it, from any source (what the failed_top_up alert rule waits for).
with fx as (
    select * from {{ ref('int_fx_rates') }}
),

credited as (
    select
        {{ company_date('occurred_at') }} as day,
        entry_source as topup_source,
        count() as topups,
        {{ sum_converted('amount_reporting') }} as topups_reporting
    from {{ ref('fct_account_entries') }}
    where kind = 'topup'
    group by day, topup_source
),

topups as (
    select customer_id, occurred_at
    from {{ ref('fct_account_entries') }}
    where kind = 'topup'
),

failed as (
    select
        {{ company_date('failures.occurred_at') }} as day,
        failures.topup_source as topup_source,
        count() as failed_topups,
        {{ sum_reporting('failures.amount', 'failures.currency', 'fx.rate_to_reporting', 'fx.has_rate') }}
            as failed_topups_reporting,
        countIf(next_topups.customer_id = failures.customer_id
                and next_topups.occurred_at <= failures.occurred_at + interval 1 day) as failed_topups_recovered
    from {{ ref('stg_topup_failures') }} as failures
    asof left join fx on fx.currency = failures.currency and fx.rate_date <= toDate32(failures.occurred_at)
    -- the account's first top-up after the failure
    asof left join topups as next_topups
        on next_topups.customer_id = failures.customer_id and next_topups.occurred_at > failures.occurred_at
    group by day, topup_source
),

keys as (
    select day, topup_source from credited
    union distinct
    select day, topup_source from failed
)

select
    toDate(keys.day) as day,
    toString(keys.topup_source) as topup_source,
    toUInt64(coalesce(credited.topups, 0)) as topups,
    toDecimal128(if(credited.topups > 0, credited.topups_reporting, 0), 2)::Nullable(Decimal(38, 2)) as topups_reporting,
    toUInt64(coalesce(failed.failed_topups, 0)) as failed_topups,
    toDecimal128(if(failed.failed_topups > 0, failed.failed_topups_reporting, 0), 2)::Nullable(Decimal(38, 2))
        as failed_topups_reporting,
    toUInt64(coalesce(failed.failed_topups_recovered, 0)) as failed_topups_recovered
from keys
left join credited on credited.day = keys.day and credited.topup_source = keys.topup_source
left join failed on failed.day = keys.day and failed.topup_source = keys.topup_source
settings join_use_nulls = 1
