-- Marketing performance per month (company time zone), channel and campaign: spend in the reporting currency (daily spend at
-- that day's central-bank rate), impressions and clicks, and the funnel of the leads that came in that month:
-- leads, bookings, attended, paid; cost per lead, acquisition cost (spend per paid patient) and return on
-- spend (paid revenue / spend). Organic leads appear under campaign 0 with no spend. Insured leads (their booking is
-- an insurance visit) are leads, but out of bookings, attended and paid.
with spend as (
    select
        toStartOfMonth(ad_spend.day) as month,
        campaigns.channel as channel,
        ad_spend.campaign_id as campaign_id,
        -- converted once, in fct_ad_spend (the clinic funnel and the executive KPIs read the same amounts)
        {{ sum_converted('ad_spend.amount_reporting') }} as spend_reporting,
        sum(coalesce(ad_spend.impressions, 0)) as impressions,
        sum(coalesce(ad_spend.clicks, 0)) as clicks
    from {{ ref('fct_ad_spend') }} as ad_spend
    inner join {{ ref('stg_campaigns') }} as campaigns on campaigns.campaign_id = ad_spend.campaign_id
    group by month, channel, campaign_id
),

leads as (
    select
        cohort_month as month,
        marketing_channel as channel,
        campaign_id,
        count() as leads,
        countIf(is_booked and not is_insured) as bookings,
        countIf(is_attended and not is_insured) as attended,
        countIf(is_paid) as paid,
        {{ sum_converted("paid_amount_reporting") }} as paid_revenue_reporting
    from {{ ref('int_lead_funnel') }}
    group by month, channel, campaign_id
),

combined as (
    select month, channel, campaign_id, spend_reporting, impressions, clicks,
           0 as leads, 0 as bookings, 0 as attended, 0 as paid, toDecimal128(0, 2) as paid_revenue_reporting
    from spend
    union all
    select month, channel, campaign_id, toDecimal128(0, 2), 0, 0,
           leads, bookings, attended, paid, paid_revenue_reporting
    from leads
),

grouped as (
    select
        month,
        channel,
        campaign_id,
        {{ sum_converted("spend_reporting") }} as spend_reporting,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(leads) as leads,
        sum(bookings) as bookings,
        sum(attended) as attended,
        sum(paid) as paid,
        {{ sum_converted("paid_revenue_reporting") }} as paid_revenue_reporting
    from combined
    group by month, channel, campaign_id
)

select
    toDate(grouped.month) as month,
    toString(grouped.channel) as channel,
    toInt64(grouped.campaign_id) as campaign_id,
    toString(coalesce(campaigns.campaign_name, '(no campaign)')) as campaign_name,
    toDecimal128(grouped.spend_reporting, 2) as spend_reporting,
    toUInt64(grouped.impressions) as impressions,
    toUInt64(grouped.clicks) as clicks,
    toUInt64(grouped.leads) as leads,
    toUInt64(grouped.bookings) as bookings,
    toUInt64(grouped.attended) as attended,
    toUInt64(grouped.paid) as paid,
    toDecimal128(grouped.paid_revenue_reporting, 2) as paid_revenue_reporting,
    if(grouped.leads = 0, NULL, toDecimal128(round(grouped.spend_reporting / grouped.leads, 2), 2)) as cost_per_lead_reporting,
    if(grouped.paid = 0, NULL, toDecimal128(round(grouped.spend_reporting / grouped.paid, 2), 2)) as acquisition_cost_reporting,
    if(grouped.spend_reporting = 0, NULL, toFloat64(grouped.paid_revenue_reporting / grouped.spend_reporting)) as return_on_spend
from grouped
left join {{ ref('dim_campaigns') }} as campaigns on campaigns.campaign_id = grouped.campaign_id
