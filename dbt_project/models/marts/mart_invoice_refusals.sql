-- Counterparties' refusals to pay (part of) the company's invoices, insurers' mostly: one row per refusal, with its
-- reason, the invoice and counterparty, and the amount in the invoice currency and in the reporting currency at the
-- refusal date's rate.
with refusals as (
    select * from {{ ref('stg_invoice_refusals') }}
),

fx as (
    select * from {{ ref('int_fx_rates') }}
)

select
    toInt64(refusals.refusal_id) as refusal_id,
    toDate32(refusals.refused_on) as refused_on,
    toString(refusals.reason) as reason,
    refusals.comment as comment,
    toInt64(refusals.invoice_id) as invoice_id,
    toString(invoices.invoice_number) as invoice_number,
    toDate32(invoices.issued_on) as issued_on,
    toString(invoices.status) as invoice_status,
    toInt64(invoices.counterparty_id) as counterparty_id,
    toString(invoices.counterparty_name) as counterparty_name,
    toString(invoices.counterparty_kind) as counterparty_kind,
    toString(refusals.currency) as currency,
    toDecimal128(refusals.amount, 2) as amount,
    {{ to_reporting('refusals.amount', 'refusals.currency', 'fx.rate_to_reporting', 'fx.has_rate') }} as amount_reporting,
    toInt32(dateDiff('day', invoices.issued_on, refusals.refused_on)) as days_after_issue
from refusals
inner join {{ ref('mart_receivables') }} as invoices on invoices.invoice_id = refusals.invoice_id
asof left join fx on fx.currency = refusals.currency and fx.rate_date <= refusals.refused_on
