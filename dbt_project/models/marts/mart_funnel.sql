-- Conversion funnel lead -> contacted -> booked -> attended -> paid by cohort month (month the lead came in,
-- company time zone), marketing channel and campaign: counts, step and overall rates, and median hours between
-- stages. Insured leads (their booking is an insurance visit: zero price under a policy) are out of every
-- primary-patient figure from the booking on - booked, attended, paid, and the denominators of the rates after
-- contact - as clinics require, and reported apart (insurance_visits).
with funnel as (
    select * from {{ ref('int_lead_funnel') }}
),

campaigns as (
    select campaign_id, campaign_name from {{ ref('dim_campaigns') }}
),

grouped as (
    select
        cohort_month,
        marketing_channel,
        campaign_id,
        count() as leads,
        countIf(is_contacted) as contacted,
        countIf(is_booked and not is_insured) as booked,
        countIf(is_attended and not is_insured) as attended,
        countIf(is_paid) as paid,
        countIf(is_insured) as insurance_visits,
        {{ sum_converted("paid_amount_reporting") }} as paid_revenue_reporting,
        medianExactIf(dateDiff('second', received_at, contacted_at) / 3600, is_contacted) as h_lead_contacted,
        medianExactIf(dateDiff('second', contacted_at, booked_at) / 3600, is_booked and not is_insured)
            as h_contacted_booked,
        medianExactIf(dateDiff('second', booked_at, attended_at) / 3600, is_attended and not is_insured)
            as h_booked_attended,
        medianExactIf(dateDiff('second', attended_at, paid_at) / 3600, is_paid) as h_attended_paid,
        medianExactIf(dateDiff('second', received_at, paid_at) / 3600, is_paid) as h_lead_paid
    from funnel
    group by cohort_month, marketing_channel, campaign_id
)

select
    toDate(grouped.cohort_month) as cohort_month,
    toString(grouped.marketing_channel) as channel,
    toInt64(grouped.campaign_id) as campaign_id,
    toString(coalesce(campaigns.campaign_name, '(no campaign)')) as campaign_name,
    toUInt64(grouped.leads) as leads,
    toUInt64(grouped.contacted) as contacted,
    toUInt64(grouped.booked) as booked,
    toUInt64(grouped.attended) as attended,
    toUInt64(grouped.paid) as paid,
    toUInt64(grouped.insurance_visits) as insurance_visits,
    toDecimal128(grouped.paid_revenue_reporting, 2) as paid_revenue_reporting,
    toFloat64(if(grouped.leads = 0, 0, grouped.contacted / grouped.leads)) as contacted_rate,
    toFloat64(if(grouped.contacted - grouped.insurance_visits = 0, 0,
                 grouped.booked / (grouped.contacted - grouped.insurance_visits))) as booked_rate,
    toFloat64(if(grouped.booked = 0, 0, grouped.attended / grouped.booked)) as attended_rate,
    toFloat64(if(grouped.attended = 0, 0, grouped.paid / grouped.attended)) as paid_rate,
    toFloat64(if(grouped.leads - grouped.insurance_visits = 0, 0,
                 grouped.paid / (grouped.leads - grouped.insurance_visits))) as lead_to_paid_rate,
    if(grouped.contacted = 0, NULL, toFloat64(grouped.h_lead_contacted)) as median_hours_lead_to_contacted,
    if(grouped.booked = 0, NULL, toFloat64(grouped.h_contacted_booked)) as median_hours_contacted_to_booked,
    if(grouped.attended = 0, NULL, toFloat64(grouped.h_booked_attended)) as median_hours_booked_to_attended,
    if(grouped.paid = 0, NULL, toFloat64(grouped.h_attended_paid)) as median_hours_attended_to_paid,
    if(grouped.paid = 0, NULL, toFloat64(grouped.h_lead_paid)) as median_hours_lead_to_paid
from grouped
left join campaigns on campaigns.campaign_id = grouped.campaign_id
