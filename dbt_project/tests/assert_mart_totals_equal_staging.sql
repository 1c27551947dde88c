{{ config(tags=['full_scan']) }}
-- Mart totals equal staging totals: vending revenue and kits, ledger top-ups, leads, calls and invoices.
with checks as (
    select 'vending revenue' as measure,
           toFloat64((select sum(revenue_rub) from {{ ref('mart_vending_daily') }})) as mart_total,
           toFloat64((select sum(amount) from {{ ref('stg_vend_transactions') }} where status = 'completed')) as staging_total
    union all
    select 'kits sold',
           toFloat64((select sum(kits_sold) from {{ ref('mart_hospital_commissions_monthly') }})),
           toFloat64((select sum(quantity) from {{ ref('stg_vend_transactions') }} where status = 'completed'))
    union all
    select 'top-ups',
           toFloat64((select sum(topups) from {{ ref('mart_customer_spend_monthly') }})),
           toFloat64((select sum(amount) from {{ ref('stg_account_entries') }} where kind = 'topup'))
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
           toFloat64((select count() from {{ ref('mart_receivables') }})),
           toFloat64((select count() from {{ ref('stg_invoices') }}))
)

select * from checks where abs(mart_total - staging_total) > 0.005
