-- Tag clock: depends on today's date, so the hourly build (pulse/dbt/runner.py) rebuilds it and its marts when the
-- date changes.
{{ config(tags=['clock']) }}
-- Invoices of both directions (receivable: the company bills; payable: it is billed), one row per invoice, with the
-- amount, payments, insurers' refusals and what is still outstanding in the invoice currency and in the reporting
-- currency, its ageing on the report date (today) and the days it took to settle. The one valuation of an invoice:
-- mart_receivables and mart_payables select their direction from here. Reporting-currency amounts use the central
-- bank's most recent rate on or before the date that matters: the issue date for the invoice, each payment's value
-- date for payments, each refusal's date for refusals, the report date for what is still outstanding. Cancelled
-- invoices are owed nothing; a refused amount is owed no more (it is written off, not collected).
with invoices as (
    select * from {{ ref('stg_invoices') }}
),

fx as (
    select * from {{ ref('int_fx_rates') }}
),

payments as (
    select
        payments.invoice_id as invoice_id,
        sum(payments.amount) as paid_amount,
        {{ sum_reporting('payments.amount', 'payments.currency', 'fx.rate_to_reporting', 'fx.has_rate') }} as paid_reporting,
        max(payments.paid_on) as last_paid_on,
        count() as payment_count
    from {{ ref('stg_payments') }} as payments
    asof left join fx on fx.currency = payments.currency and fx.rate_date <= payments.paid_on
    where payments.invoice_id is not null
    group by invoice_id
),

refusals as (
    select
        refusals.invoice_id as invoice_id,
        sum(refusals.amount) as refused_amount,
        {{ sum_reporting('refusals.amount', 'refusals.currency', 'fx.rate_to_reporting', 'fx.has_rate') }} as refused_reporting,
        count() as refusal_count
    from {{ ref('stg_invoice_refusals') }} as refusals
    asof left join fx on fx.currency = refusals.currency and fx.rate_date <= refusals.refused_on
    group by invoice_id
),

report as (
    select today() as as_of_date
),

valued as (
    select
        invoices.invoice_id as invoice_id,
        invoices.number as invoice_number,
        invoices.direction as direction,
        invoices.counterparty_id as counterparty_id,
        invoices.issued_on as issued_on,
        invoices.due_on as due_on,
        invoices.status as status,
        invoices.currency as currency,
        invoices.amount as amount,
        {{ to_reporting('invoices.amount', 'invoices.currency', 'fx.rate_to_reporting', 'fx.has_rate') }} as amount_reporting,
        coalesce(payments.paid_amount, 0) as paid_amount,
        coalesce(payments.paid_reporting, 0) as paid_reporting,
        -- Unmatched LEFT JOIN rows hold defaults, not NULLs: the counts tell a refused or paid invoice apart.
        if(refusals.refusal_count = 0, toDecimal128(0, 2), toDecimal128(refusals.refused_amount, 2)) as refused_amount,
        if(refusals.refusal_count = 0, toDecimal128(0, 2), refusals.refused_reporting) as refused_reporting,
        toUInt32(refusals.refusal_count) as refusals,
        -- Never paid: NULL. An unmatched LEFT JOIN row holds defaults (1970-01-01 here); its invoice_id is NULL
        -- (a Nullable key), never 0, so the count is what tells a paid invoice from an unpaid one.
        if(payments.payment_count = 0, NULL, payments.last_paid_on) as last_paid_on,
        if(invoices.status = 'cancelled', toDecimal128(0, 2),
           toDecimal128(greatest(invoices.amount - coalesce(payments.paid_amount, 0) - refused_amount, 0), 2))
            as outstanding_amount
    from invoices
    asof left join fx on fx.currency = invoices.currency and fx.rate_date <= invoices.issued_on
    left join payments on payments.invoice_id = invoices.invoice_id
    left join refusals on refusals.invoice_id = invoices.invoice_id
),

outstanding_fx as (
    select currency, argMax(rate_to_reporting, rate_date) as rate_to_reporting
    from fx
    where rate_date <= (select as_of_date from report)
    group by currency
)

select
    toInt64(valued.invoice_id) as invoice_id,
    toString(valued.invoice_number) as invoice_number,
    toString(valued.direction) as direction,
    toInt64(valued.counterparty_id) as counterparty_id,
    toString(counterparties.counterparty_name) as counterparty_name,
    toString(counterparties.kind) as counterparty_kind,
    toDate32(valued.issued_on) as issued_on,
    valued.due_on as due_on,
    toString(valued.status) as status,
    toString(valued.currency) as currency,
    toDecimal128(valued.amount, 2) as amount,
    valued.amount_reporting as amount_reporting,
    toDecimal128(valued.paid_amount, 2) as paid_amount,
    toDecimal128(valued.paid_reporting, 2) as paid_reporting,
    valued.refused_amount as refused_amount,
    valued.refused_reporting::Nullable(Decimal(38, 2)) as refused_reporting,
    valued.refusals as refusals,
    toDecimal128(valued.outstanding_amount, 2) as outstanding_amount,
    if(valued.currency = '{{ var("reporting_currency") }}', valued.outstanding_amount,
       if(outstanding_fx.currency = '', NULL,
          toDecimal128(round(valued.outstanding_amount * outstanding_fx.rate_to_reporting, 2), 2)))::Nullable(Decimal(38, 2))
        as outstanding_reporting,
    valued.last_paid_on as last_paid_on,
    -- Settled and paid (nothing outstanding, something paid - in full, or what was not refused - not cancelled): issue
    -- date to the last payment.
    if(valued.status != 'cancelled' and valued.outstanding_amount = 0 and valued.last_paid_on is not null,
       toInt32(greatest(dateDiff('day', valued.issued_on, valued.last_paid_on), 0)), NULL)::Nullable(Int32)
        as days_to_pay,
    toDate32((select as_of_date from report)) as as_of_date,
    toInt32(if(valued.outstanding_amount = 0, 0,
               greatest(dateDiff('day', coalesce(valued.due_on, valued.issued_on), (select as_of_date from report)), 0)))
        as days_overdue,
    toString(multiIf(
        valued.outstanding_amount = 0, 'settled',
        days_overdue = 0, 'current',
        days_overdue <= 30, '1-30',
        days_overdue <= 60, '31-60',
        days_overdue <= 90, '61-90',
        '90+'
    )) as ageing_bucket
from valued
left join {{ ref('dim_counterparties') }} as counterparties
    on counterparties.counterparty_id = valued.counterparty_id
left join outstanding_fx on outstanding_fx.currency = valued.currency
