{{ config(tags=['full_scan']) }}
-- Mart totals equal staging totals: vending revenue and kits, ledger top-ups, failed top-ups, leads, calls and
-- invoices. Not alerts: the pipeline raises them itself (metric_alerts, after each build), and the reconcile step's
-- catch-up load brings them into raw before the next build (mart_alerts_daily has its own unit test). Money is
-- compared like with like: staging amounts converted here, each at the rate of its day (int_fx_rates, the same ASOF
-- rule as the facts), and the ledger per account currency.
with fx as (
    select * from {{ ref('int_fx_rates') }}
),

completed_vends as (
    select {{ to_reporting('vends.amount', 'vends.currency', 'fx.rate_to_reporting', 'fx.has_rate') }} as amount_reporting
    from {{ ref('stg_vend_transactions') }} as vends
    asof left join fx on fx.currency = vends.currency and fx.rate_date <= toDate32(vends.device_time)
    where vends.status = 'completed'
),

topups_by_currency as (
    select 'top-ups, ' || currency as measure, toFloat64(sum(mart)) as mart_total, toFloat64(sum(staging)) as staging_total
    from (
        select currency, topups as mart, toDecimal128(0, 2) as staging from {{ ref('mart_customer_spend_monthly') }}
        union all
        select currency, toDecimal128(0, 2), amount from {{ ref('stg_account_entries') }} where kind = 'topup'
    )
    group by currency
),

checks as (
    select 'vending revenue' as measure,
           toFloat64((select sum(revenue_reporting) from {{ ref('mart_vending_daily') }})) as mart_total,
           toFloat64((select sum(amount_reporting) from completed_vends)) as staging_total
    union all
    select 'kits sold',
           toFloat64((select sum(kits_sold) from {{ ref('mart_hospital_commissions_monthly') }})),
           toFloat64((select sum(quantity) from {{ ref('stg_vend_transactions') }} where status = 'completed'))
    union all
    select * from topups_by_currency
    union all
    select 'top-ups (count)',
           toFloat64((select sum(topups) from {{ ref('mart_topups_daily') }})),
           toFloat64((select count() from {{ ref('stg_account_entries') }} where kind = 'topup'))
    union all
    select 'failed top-ups',
           toFloat64((select sum(failed_topups) from {{ ref('mart_topups_daily') }})),
           toFloat64((select count() from {{ ref('stg_topup_failures') }}))
    union all
    select 'leads',
           toFloat64((select sum(leads) from {{ ref('mart_funnel') }})),
           toFloat64((select count() from {{ ref('stg_leads') }}))
    union all
    select 'leads (marketing)',
           toFloat64((select sum(leads) from {{ ref('mart_marketing_spend') }})),
           toFloat64((select count() from {{ ref('stg_leads') }}))
    union all
    select 'calls',
           toFloat64((select sum(inbound_calls + outbound_calls) from {{ ref('mart_call_centre_daily') }})),
           toFloat64((select count() from {{ ref('stg_calls') }}))
    union all
    select 'invoices',
           toFloat64((select count() from {{ ref('mart_receivables') }}) + (select count() from {{ ref('mart_payables') }})),
           toFloat64((select count() from {{ ref('stg_invoices') }}))
)

select * from checks where abs(mart_total - staging_total) > 0.005
