-- Tag clock: depends on today's date, so the hourly build (pulse/dbt/runner.py) rebuilds it when the date changes.
{{ config(tags=['clock']) }}
-- Customer account statement per month (company time zone): kits bought, spend, top-ups, refunds,
-- adjustments, and the opening and closing balance. Every month from the customer's first ledger entry to
-- the current month has a row, so balances carry through quiet months. Balance = running sum of the ledger.
-- Amounts are in the account's currency (every entry of an account is in it): a customer's statement is not converted.
with entries as (
    select
        customer_id,
        toStartOfMonth({{ company_date('occurred_at') }}) as month,
        kind,
        amount,
        amount_reporting
    from {{ ref('fct_account_entries') }}
),

ledger_monthly as (
    select
        customer_id,
        month,
        sumIf(amount, kind = 'topup') as topups,
        -sumIf(amount, kind = 'vend') as vend_spend,
        sumIf(amount, kind = 'refund') as refunds,
        sumIf(amount, kind = 'adjustment') as adjustments,
        sum(amount) as net_change,
        count() as ledger_entries,
        -- the same in the reporting currency, each entry at the rate of its day (NULL when one has no rate)
        countIf(amount_reporting is null) = 0 as priced,
        if(priced, sumIf(amount_reporting, kind = 'topup'), NULL) as topups_reporting,
        if(priced, -sumIf(amount_reporting, kind = 'vend'), NULL) as vend_spend_reporting,
        if(priced, sumIf(amount_reporting, kind = 'refund'), NULL) as refunds_reporting,
        if(priced, sumIf(amount_reporting, kind = 'adjustment'), NULL) as adjustments_reporting
    from entries
    group by customer_id, month
),

kits_monthly as (
    select
        customer_id,
        company_month as month,
        sum(kits_sold) as kits,
        sum(completed_vends) as vends
    from {{ ref('int_vend_daily') }}
    group by customer_id, month
),

spans as (
    select customer_id, min(month) as first_month
    from (
        select customer_id, month from ledger_monthly
        union all
        select customer_id, month from kits_monthly
    )
    group by customer_id
),

last_month as (
    select greatest(
        toStartOfMonth({{ company_date('now()') }}),
        (select max(month) from ledger_monthly),
        (select max(month) from kits_monthly)
    ) as month
),

customer_months as (
    select
        spans.customer_id as customer_id,
        months.month_start as month
    from spans
    cross join (select distinct month_start from {{ ref('dim_date') }}) as months
    where months.month_start >= spans.first_month
        and months.month_start <= (select month from last_month)
),

joined as (
    select
        customer_months.customer_id as customer_id,
        customer_months.month as month,
        coalesce(kits_monthly.kits, 0) as kits,
        coalesce(kits_monthly.vends, 0) as vends,
        coalesce(ledger_monthly.vend_spend, 0) as vend_spend,
        coalesce(ledger_monthly.topups, 0) as topups,
        coalesce(ledger_monthly.refunds, 0) as refunds,
        coalesce(ledger_monthly.adjustments, 0) as adjustments,
        coalesce(ledger_monthly.net_change, 0) as net_change,
        coalesce(ledger_monthly.ledger_entries, 0) as ledger_entries,
        if(ledger_monthly.ledger_entries > 0, ledger_monthly.vend_spend_reporting, 0) as vend_spend_reporting,
        if(ledger_monthly.ledger_entries > 0, ledger_monthly.topups_reporting, 0) as topups_reporting,
        if(ledger_monthly.ledger_entries > 0, ledger_monthly.refunds_reporting, 0) as refunds_reporting,
        if(ledger_monthly.ledger_entries > 0, ledger_monthly.adjustments_reporting, 0) as adjustments_reporting
    from customer_months
    left join ledger_monthly
        on ledger_monthly.customer_id = customer_months.customer_id
        and ledger_monthly.month = customer_months.month
    left join kits_monthly
        on kits_monthly.customer_id = customer_months.customer_id
        and kits_monthly.month = customer_months.month
),

balances as (
    select
        *,
        sum(net_change) over (partition by customer_id order by month rows between unbounded preceding and current row)
            as closing_balance
    from joined
)

select
    toInt64(balances.customer_id) as customer_id,
    toString(customers.client_id) as client_id,
    toString(customers.full_name) as full_name,
    toDate(balances.month) as month,
    toUInt64(balances.kits) as kits,
    toUInt64(balances.vends) as vends,
    toDecimal128(balances.vend_spend - balances.refunds, 2) as spend,
    toDecimal128(balances.vend_spend, 2) as gross_vend_spend,
    toDecimal128(balances.refunds, 2) as refunds,
    toDecimal128(balances.topups, 2) as topups,
    toDecimal128(balances.adjustments, 2) as adjustments,
    toDecimal128(balances.closing_balance - balances.net_change, 2) as opening_balance,
    toDecimal128(balances.closing_balance, 2) as closing_balance,
    toUInt64(balances.ledger_entries) as ledger_entries,
    toDecimal128(balances.vend_spend_reporting - balances.refunds_reporting, 2) as spend_reporting,
    toDecimal128(balances.vend_spend_reporting, 2) as gross_vend_spend_reporting,
    toDecimal128(balances.refunds_reporting, 2) as refunds_reporting,
    toDecimal128(balances.topups_reporting, 2) as topups_reporting,
    toDecimal128(balances.adjustments_reporting, 2) as adjustments_reporting,
    toString(customers.account_currency) as currency
from balances
left join {{ ref('dim_customers') }} as customers
    on customers.customer_id = balances.customer_id
