-- The clinic funnel adds up: per month, source and campaign its leads and ad spend are mart_marketing_spend's (one
-- definition of source and spend), its bookings, show-ups and treated patients are mart_clinic_journeys' primary
-- journeys, insured ones apart, and down the funnel counts never increase.
with sides as (
    select month, channel, campaign_id,
           toInt64(leads) as leads, spend_reporting as spend,
           toInt64(bookings) as bookings, toInt64(show_ups) as show_ups, toInt64(treated) as treated,
           toInt64(insured_bookings) as insured_bookings, 1 as side
    from {{ ref('mart_clinic_funnel_monthly') }}
    union all
    select month, channel, campaign_id, -toInt64(leads), -spend_reporting, 0, 0, 0, 0, 2
    from {{ ref('mart_marketing_spend') }}
    union all
    select cohort_month, channel, campaign_id, 0, toDecimal128(0, 2),
           -toInt64(countIf(not is_insured)), -toInt64(countIf(showed_up and not is_insured)),
           -toInt64(countIf(is_treated and not is_insured)), -toInt64(countIf(is_insured)), 3
    from {{ ref('mart_clinic_journeys') }}
    group by cohort_month, channel, campaign_id
),

differences as (
    select month, channel, campaign_id, 'differs from its sources' as problem
    from sides
    group by month, channel, campaign_id
    having sum(leads) != 0 or sum(bookings) != 0 or sum(show_ups) != 0 or sum(treated) != 0
        or sum(insured_bookings) != 0
        -- spend: NULL (a day without a rate) on both sides, or equal totals
        or countIf(spend is null and side = 1) != countIf(spend is null and side = 2)
        or coalesce(sum(spend), 0) != 0
)

select * from differences
union all
select month, channel, campaign_id, 'a step exceeds the one before'
from {{ ref('mart_clinic_funnel_monthly') }}
where primary_leads > leads
   or (channel != 'no_lead' and bookings > primary_leads)
   or show_ups > bookings
   or treated > show_ups
   or insured_show_ups > insured_bookings
