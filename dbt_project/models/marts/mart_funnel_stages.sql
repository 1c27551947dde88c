-- The funnel unpivoted: one row per cohort month, channel, campaign and stage, so a funnel chart plots stages
-- as categories. Same grain as mart_funnel times its five stages.
select
    cohort_month,
    channel,
    campaign_id,
    campaign_name,
    s.1 as stage,
    s.2 as leads_at_stage
from {{ ref('mart_funnel') }}
array join [
    ('1. Lead', leads),
    ('2. Contacted', contacted),
    ('3. Booked', booked),
    ('4. Attended', attended),
    ('5. Paid', paid)
] as s
