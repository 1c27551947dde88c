-- Payments received from counterparties (receivable) or made to them (payable: the invoice's direction; a payment
-- matched to no invoice was received), with the invoice they settle and their amount in the reporting currency at
-- the central bank's most recent rate on or before the value date (NULL when no rate that old is known).
with payments as (
    select * from {{ ref('stg_payments') }}
),

invoices as (
    select invoice_id, number, direction from {{ ref('stg_invoices') }}
),

fx as (
    select * from {{ ref('int_fx_rates') }}
)

select
    toInt64(payments.payment_id) as payment_id,
    toInt64(payments.counterparty_id) as counterparty_id,
    payments.invoice_id as invoice_id,
    coalesce(invoices.number, '') as invoice_number,
    -- join_use_nulls is off: an unmatched invoice's direction is '', i.e. a payment received.
    if(invoices.direction = 'payable', 'payable', 'receivable') as direction,
    toDate32(payments.paid_on) as paid_on,
    toString(payments.currency) as currency,
    toDecimal128(payments.amount, 2) as amount,
    fx.rate_to_reporting as rate_to_reporting,
    fx.rate_date as rate_date,
    fx.has_rate as has_rate,
    {{ to_reporting('payments.amount', 'payments.currency', 'fx.rate_to_reporting', 'fx.has_rate') }} as amount_reporting
from payments
left join invoices on invoices.invoice_id = payments.invoice_id
asof left join fx on fx.currency = payments.currency and fx.rate_date <= payments.paid_on
