-- The clinic funnel unpivoted: one row per month, advertising source, campaign and step, so a funnel chart plots the
-- steps as categories. Same grain as mart_clinic_funnel_monthly times its four steps; the lead step is its primary
-- leads (leads whose booking is insured are out of the primary funnel from the start, as in its conversions).
select
    month,
    channel,
    campaign_id,
    campaign_name,
    step.1 as stage,
    step.2 as patients_at_stage
from {{ ref('mart_clinic_funnel_monthly') }}
array join [
    ('1. Lead', primary_leads),
    ('2. Booking', bookings),
    ('3. Show-up', show_ups),
    ('4. Treated', treated)
] as step
