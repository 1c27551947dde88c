-- Tag clock: depends on today's date, so the hourly build (pulse/dbt/runner.py) rebuilds it when the date changes.
{{ config(tags=['clock']) }}
-- Company-level KPIs per day, one row per day from the first day with vends, leads or calls to today: what the executive
-- dashboards read. Vending days are the hospitals' local days; CRM, calls and marketing days are in the
-- company time zone; money is in the reporting currency. An amount in a foreign currency is converted at the most recent rate on or
-- before its date (int_fx_rates); when no rate that old exists, the day's total in the reporting currency is NULL rather than a total
-- silently missing that amount, and the not_null tests on those columns fail the build (add the rate).
with vending as (
    select
        day,
        sum(vends) as vends, sum(completed_vends) as completed_vends, sum(failed_vends) as failed_vends,
        sum(refunded_vends) as refunded_vends, sum(kits_sold) as kits_sold, sum(revenue_reporting) as revenue_reporting,
        sum(offline_vends) as offline_vends, sum(authorisations) as authorisations, sum(declines) as declines,
        sum(pin_lockouts) as pin_lockouts, uniqExactIf(machine_days.machine_id, machine_days.vends > 0) as active_machines
    from {{ ref('int_machine_days') }} as machine_days
    group by day
),

buyers as (
    select daily.local_date as day, uniqExactIf(daily.customer_id, daily.completed_vends > 0) as active_customers
    from {{ ref('int_vend_daily') }} as daily
    inner join {{ ref('dim_machines') }} as machines on machines.machine_id = daily.machine_id
    group by day
),

ledger as (
    select
        {{ company_date('occurred_at') }} as day,
        sumIf(amount_reporting, kind = 'topup') as topups_reporting,
        sumIf(amount_reporting, kind = 'refund') as refunds_reporting,
        countIf(kind = 'topup' and amount_reporting is null) as unpriced_topups
    from {{ ref('fct_account_entries') }}
    group by day
),

new_customers as (
    select {{ company_date('registered_at') }} as day, count() as new_customers
    from {{ ref('dim_customers') }}
    group by day
),

leads as (
    -- Insured leads (their booking is an insurance visit) are out of bookings, attended and paid: counted apart.
    select
        lead_date as day,
        count() as leads, countIf(is_contacted) as contacted, countIf(is_booked and not is_insured) as booked,
        countIf(is_attended and not is_insured) as attended, countIf(is_paid) as paid,
        countIf(is_insured) as insurance_visits,
        {{ sum_converted("paid_amount_reporting") }} as paid_revenue_reporting
    from {{ ref('int_lead_funnel') }}
    group by day
),

spend as (
    -- converted once, in fct_ad_spend (what the weekly report's missing-rate check reads too)
    select day, sum(amount_reporting) as ad_spend_reporting, countIf(amount_reporting is null) as unpriced_spend
    from {{ ref('fct_ad_spend') }}
    group by day
),

calls as (
    select
        day,
        sum(inbound_calls) as inbound_calls, sum(outbound_calls) as outbound_calls,
        sum(answered_calls) as answered_calls, sum(missed_calls) as missed_calls
    from {{ ref('mart_call_centre_daily') }}
    group by day
),

messages as (
    select {{ company_date('created_at') }} as day, count() as messages_sent, countIf(is_delivered) as messages_delivered
    from {{ ref('fct_messages') }}
    group by day
),

invoicing as (
    select issued_on as day, sum(amount_reporting) as invoiced_reporting, countIf(amount_reporting is null) as unpriced_invoices
    from {{ ref('mart_receivables') }}
    where status != 'cancelled'
    group by day
),

bounds as (
    select min(day) as first_day from (
        -- the vends' own days rather than `vending`'s: a CTE read twice is computed twice
        select min(local_date) as day from {{ ref('int_vend_daily') }}
        union all select min(day) from leads
        union all select min(day) from calls
    )
),

days as (
    select date_day as day, week_start
    from {{ ref('dim_date') }}
    where date_day >= (select first_day from bounds) and date_day <= today()
)

select
    toDate(days.day) as day,
    toDate(days.week_start) as week_start,
    toUInt64(vending.vends) as vends,
    toUInt64(vending.completed_vends) as completed_vends,
    toUInt64(vending.kits_sold) as kits_sold,
    toDecimal128(vending.revenue_reporting, 2) as vending_revenue_reporting,
    toFloat64(if(vending.completed_vends = 0, 0, vending.revenue_reporting / vending.completed_vends)) as avg_vend_value_reporting,
    toUInt64(vending.failed_vends) as failed_vends,
    toUInt64(vending.refunded_vends) as refunded_vends,
    toFloat64(if(vending.vends = 0, 0, vending.offline_vends / vending.vends)) as offline_share,
    toUInt64(vending.offline_vends) as offline_vends,
    toUInt64(vending.active_machines) as active_machines,
    toUInt64(buyers.active_customers) as active_customers,
    toUInt64(new_customers.new_customers) as new_customers,
    if(ledger.unpriced_topups > 0, NULL, toDecimal128(coalesce(ledger.topups_reporting, 0), 2)) as topups_reporting,
    toUInt64(vending.authorisations) as authorisations,
    toUInt64(vending.declines) as authorisation_declines,
    toFloat64(if(vending.authorisations = 0, 0, vending.declines / vending.authorisations)) as decline_rate,
    toUInt64(vending.pin_lockouts) as pin_lockouts,
    toUInt64(leads.leads) as leads,
    toUInt64(leads.contacted) as leads_contacted,
    toUInt64(leads.booked) as bookings,
    toUInt64(leads.attended) as attended_visits,
    toUInt64(leads.paid) as paid_visits,
    toUInt64(leads.insurance_visits) as insurance_visits,
    toFloat64(if(leads.leads - leads.insurance_visits = 0, 0, leads.paid / (leads.leads - leads.insurance_visits)))
        as lead_to_paid_rate,
    toDecimal128(if(leads.leads = 0, 0, leads.paid_revenue_reporting), 2) as clinic_paid_revenue_reporting,
    -- A left join's unmatched row has 0 in the unpriced counts (a day without spend or invoices: 0).
    if(spend.unpriced_spend > 0, NULL, toDecimal128(coalesce(spend.ad_spend_reporting, 0), 2)) as ad_spend_reporting,
    if(leads.leads = 0 or spend.unpriced_spend > 0, NULL,
       toDecimal128(round(coalesce(spend.ad_spend_reporting, 0) / leads.leads, 2), 2)) as cost_per_lead_reporting,
    toUInt64(calls.inbound_calls) as inbound_calls,
    toUInt64(calls.outbound_calls) as outbound_calls,
    toFloat64(if(calls.inbound_calls + calls.outbound_calls = 0, 0,
                 calls.answered_calls / (calls.inbound_calls + calls.outbound_calls))) as call_answered_rate,
    toUInt64(calls.answered_calls) as answered_calls,
    toUInt64(calls.missed_calls) as missed_calls,
    toUInt64(messages.messages_sent) as messages_sent,
    toUInt64(messages.messages_delivered) as messages_delivered,
    toFloat64(if(messages.messages_sent = 0, 0, messages.messages_delivered / messages.messages_sent))
        as message_delivery_rate,
    if(invoicing.unpriced_invoices > 0, NULL, toDecimal128(coalesce(invoicing.invoiced_reporting, 0), 2)) as invoiced_reporting
from days
left join vending on vending.day = days.day
left join buyers on buyers.day = days.day
left join ledger on ledger.day = days.day
left join new_customers on new_customers.day = days.day
left join leads on leads.day = days.day
left join spend on spend.day = days.day
left join calls on calls.day = days.day
left join messages on messages.day = days.day
left join invoicing on invoicing.day = days.day
