-- The clinic funnel "from the booking to the chair" per month (the month the lead came in, company time zone),
-- advertising source and campaign: leads, bookings, show-ups and treated patients, with the ad spend of the month.
-- Every step is counted on its lead's cohort, as in mart_marketing_spend, and the source and spend are that mart's:
-- the campaign's ad channel (else the lead's own channel) and the marketing mart's spend (each day at its rate).
-- Bookings, show-ups and treated patients are mart_clinic_journeys' primary journeys; insured journeys (booked under a
-- policy at zero price) are out of every primary figure - their leads too (primary_leads) - and counted apart. By
-- branch and specialty see mart_clinic_journeys: leads and spend have neither.
with journeys as (
    select * from {{ ref('int_clinic_journeys') }}
),

spend as (
    -- the marketing mart's spend per month, channel and campaign, as it is: one definition of what a source cost
    select month, channel, campaign_id, spend_reporting from {{ ref('mart_marketing_spend') }}
),

lead_counts as (
    select
        leads.cohort_month as month,
        leads.marketing_channel as channel,
        leads.campaign_id as campaign_id,
        count() as leads,
        -- a lead whose booking is insured leaves the primary funnel (left join: no journey reads as not insured)
        countIf(not coalesce(journeys.is_insured, false)) as primary_leads
    from {{ ref('int_lead_funnel') }} as leads
    left join journeys on journeys.lead_id = leads.lead_id
    group by month, channel, campaign_id
),

journey_counts as (
    select
        cohort_month as month,
        channel,
        campaign_id,
        countIf(not is_insured) as bookings,
        countIf(showed_up and not is_insured) as show_ups,
        countIf(is_treated and not is_insured) as treated,
        countIf(is_insured) as insured_bookings,
        countIf(is_insured and showed_up) as insured_show_ups,
        sumIf(treatment_visits, not is_insured) as treatment_visits,
        {{ sum_converted('if(is_insured, toDecimal128(0, 2), treatment_revenue_reporting)') }}
            as treatment_revenue_reporting
    from journeys
    group by month, channel, campaign_id
),

combined as (
    select month, channel, campaign_id, 0 as leads, 0 as primary_leads, 0 as bookings, 0 as show_ups, 0 as treated,
           0 as insured_bookings, 0 as insured_show_ups, 0 as treatment_visits,
           toDecimal128(0, 2) as treatment_revenue_reporting, spend_reporting
    from spend
    union all
    select month, channel, campaign_id, leads, primary_leads, 0, 0, 0, 0, 0, 0, toDecimal128(0, 2), toDecimal128(0, 2)
    from lead_counts
    union all
    select month, channel, campaign_id, 0, 0, bookings, show_ups, treated, insured_bookings, insured_show_ups,
           treatment_visits, treatment_revenue_reporting, toDecimal128(0, 2)
    from journey_counts
),

grouped as (
    select
        month,
        channel,
        campaign_id,
        sum(leads) as leads,
        sum(primary_leads) as primary_leads,
        sum(bookings) as bookings,
        sum(show_ups) as show_ups,
        sum(treated) as treated,
        sum(insured_bookings) as insured_bookings,
        sum(insured_show_ups) as insured_show_ups,
        sum(treatment_visits) as treatment_visits,
        {{ sum_converted('treatment_revenue_reporting') }} as treatment_revenue_reporting,
        {{ sum_converted('spend_reporting') }} as spend_reporting
    from combined
    group by month, channel, campaign_id
)

-- Per-row ratios in Float64 (a Decimal ratio truncates); NULL when the denominator is 0 or the spend has no rate.
select
    toDate(grouped.month) as month,
    toString(grouped.channel) as channel,
    toInt64(grouped.campaign_id) as campaign_id,
    toString(coalesce(nullIf(campaigns.campaign_name, ''), '(no campaign)')) as campaign_name,
    toUInt64(grouped.leads) as leads,
    toUInt64(grouped.primary_leads) as primary_leads,
    toUInt64(grouped.bookings) as bookings,
    toUInt64(grouped.show_ups) as show_ups,
    toUInt64(grouped.treated) as treated,
    toUInt64(grouped.insured_bookings) as insured_bookings,
    toUInt64(grouped.insured_show_ups) as insured_show_ups,
    toUInt64(grouped.treatment_visits) as treatment_visits,
    toDecimal128(grouped.treatment_revenue_reporting, 2) as treatment_revenue_reporting,
    toDecimal128(grouped.spend_reporting, 2) as spend_reporting,
    toFloat64(grouped.bookings) / nullIf(toFloat64(grouped.primary_leads), 0) as lead_to_booking_rate,
    toFloat64(grouped.show_ups) / nullIf(toFloat64(grouped.bookings), 0) as booking_to_show_up_rate,
    toFloat64(grouped.treated) / nullIf(toFloat64(grouped.show_ups), 0) as show_up_to_treated_rate,
    toFloat64(grouped.show_ups) / nullIf(toFloat64(grouped.primary_leads), 0) as lead_to_show_up_rate,
    toFloat64(grouped.treated) / nullIf(toFloat64(grouped.primary_leads), 0) as lead_to_treated_rate,
    toFloat64(grouped.treated) / nullIf(toFloat64(grouped.bookings), 0) as booking_to_treated_rate,
    toFloat64(grouped.spend_reporting) / nullIf(toFloat64(grouped.bookings), 0) as cost_per_booking_reporting,
    toFloat64(grouped.spend_reporting) / nullIf(toFloat64(grouped.show_ups), 0) as cost_per_show_up_reporting,
    toFloat64(grouped.spend_reporting) / nullIf(toFloat64(grouped.treated), 0) as cost_per_patient_reporting
from grouped
left join {{ ref('dim_campaigns') }} as campaigns on campaigns.campaign_id = grouped.campaign_id
