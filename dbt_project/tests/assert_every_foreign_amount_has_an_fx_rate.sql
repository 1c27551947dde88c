-- Every amount in a foreign currency has a central-bank rate on or before its date, so the marts can value it in the
-- reporting currency (they show NULL rather than an understated total when one has none). Returns the amounts without a rate:
-- load the missing rates (the FX feed or fx_rates) and rebuild.
-- A warning, not an error: as an error it would skip every model downstream of int_fx_rates, leaving whole marts
-- stale for one missing rate. The marts show NULL where a rate is missing, and the not_null tests on the executive
-- KPIs' totals fail the build.
{{ config(severity='warn') }}
with fx as (
    select * from {{ ref('int_fx_rates') }}
),

amounts as (
    select
        'ad_spend' as kind,
        toString(ad_spend.ad_spend_id) as id,
        ad_spend.currency as currency,
        toDate32(ad_spend.day) as day,
        fx.has_rate as has_rate
    from {{ ref('stg_ad_spend') }} as ad_spend
    asof left join fx on fx.currency = ad_spend.currency and fx.rate_date <= ad_spend.day
    union all
    select 'payment', toString(payments.payment_id), payments.currency, toDate32(payments.paid_on), fx.has_rate
    from {{ ref('stg_payments') }} as payments
    asof left join fx on fx.currency = payments.currency and fx.rate_date <= payments.paid_on
    union all
    select 'invoice', toString(invoices.invoice_id), invoices.currency, toDate32(invoices.issued_on), fx.has_rate
    from {{ ref('stg_invoices') }} as invoices
    asof left join fx on fx.currency = invoices.currency and fx.rate_date <= invoices.issued_on
    union all
    select 'failed top-up', toString(failures.topup_failure_id), failures.currency, toDate32(failures.occurred_at),
           fx.has_rate
    from {{ ref('stg_topup_failures') }} as failures
    asof left join fx on fx.currency = failures.currency and fx.rate_date <= toDate32(failures.occurred_at)
    union all
    select 'paid deal', toString(deal_id), paid_currency, toDate32(paid_at), toUInt8(paid_amount_reporting is not null)
    from {{ ref('int_lead_funnel') }}
    where is_paid
)

select kind, id, currency, day
from amounts
where currency != '{{ var("reporting_currency") }}' and has_rate = 0
