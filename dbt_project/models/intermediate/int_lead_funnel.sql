-- One row per live lead with its way down the funnel: lead -> contacted -> booked -> attended -> paid.
-- Which stage is which step is data: each pipeline stage's funnel_step (the CRM names its stages as it likes).
-- A stage counts as reached when the lead's deal entered it or any later stage (so counts never increase
-- down the funnel even when a CRM user skips a stage); its time is the first entry into that stage or a later one.
-- Insured means the lead's booking is an insurance visit (zero price under a policy, the is_insurance_visit macro):
-- every primary appointment of its deal is one (int_clinic_journeys' rule for an insured journey). Insured leads are
-- out of every primary-patient figure from the booking on (booked, attended, paid) and counted apart; paid means
-- won and not insured.
with leads as (
    select * from {{ ref('stg_leads') }}
),

deals as (
    -- the lead's first deal
    select deal_id, lead_id, amount, currency, status
    from {{ ref('stg_deals') }}
    where lead_id is not null
    order by created_at, deal_id
    limit 1 by lead_id
),

stages as (
    select pipeline_stage_id, funnel_step
    from {{ ref('stg_pipeline_stages') }}
),

stage_positions as (
    select
        changes.deal_id as deal_id,
        changes.changed_at as changed_at,
        indexOf(['contacted', 'booked', 'attended', 'paid'], stages.funnel_step) as funnel_position
    from {{ ref('fct_deal_stage_changes') }} as changes
    inner join stages on stages.pipeline_stage_id = changes.to_stage_id
    where stages.funnel_step != 'lost'
),

deal_progress as (
    select
        deal_id,
        max(funnel_position) as max_position,
        minIf(changed_at, funnel_position >= 1) as contacted_at,
        minIf(changed_at, funnel_position >= 2) as booked_at,
        minIf(changed_at, funnel_position >= 3) as attended_at,
        minIf(changed_at, funnel_position >= 4) as won_at
    from stage_positions
    group by deal_id
),

insurance as (
    select
        deal_id,
        min(is_insurance_visit) as is_insured_booking
    from {{ ref('fct_appointments') }}
    where deal_id is not null and visit_type = 'primary'
    group by deal_id
),

campaigns as (
    select campaign_id, channel from {{ ref('stg_campaigns') }}
),

funnel as (
select
    leads.lead_id as lead_id,
    leads.contact_id as contact_id,
    leads.channel as lead_channel,
    if(leads.campaign_id is not null and campaigns.channel != '', campaigns.channel, leads.channel) as marketing_channel,
    coalesce(leads.campaign_id, toInt64(0)) as campaign_id,
    leads.assigned_operator_id as operator_id,
    leads.received_at as received_at,
    {{ company_date('leads.received_at') }} as lead_date,
    toStartOfMonth({{ company_date('leads.received_at') }}) as cohort_month,
    deals.deal_id as deal_id,
    coalesce(deal_progress.max_position, 0) >= 1 as is_contacted,
    coalesce(deal_progress.max_position, 0) >= 2 as is_booked,
    coalesce(deal_progress.max_position, 0) >= 3 as is_attended,
    coalesce(deal_progress.max_position, 0) >= 4 as is_won,
    toBool(is_booked and coalesce(insurance.is_insured_booking, false)) as is_insured,
    toBool(is_attended and is_insured) as is_insurance_visit,
    toBool(is_won and not is_insured) as is_paid,
    if(is_contacted, deal_progress.contacted_at, null) as contacted_at,
    if(is_booked, deal_progress.booked_at, null) as booked_at,
    if(is_attended, deal_progress.attended_at, null) as attended_at,
    if(is_paid, deal_progress.won_at, null) as paid_at,
    if(is_paid, toDecimal128(coalesce(deals.amount, 0), 2), toDecimal128(0, 2)) as paid_amount,
    if(is_paid, deals.currency, '{{ var("reporting_currency") }}') as paid_currency,
    toDate32({{ company_date('coalesce(paid_at, leads.received_at)') }}) as paid_date
from leads
left join campaigns on campaigns.campaign_id = leads.campaign_id
left join deals on deals.lead_id = leads.lead_id
left join deal_progress on deal_progress.deal_id = deals.deal_id
left join insurance on insurance.deal_id = deals.deal_id
)

-- A deal's amount is in its own currency: converted at the rate of the day it was paid (company time zone).
select
    funnel.* except (paid_date),
    {{ to_reporting('funnel.paid_amount', 'funnel.paid_currency', 'fx.rate_to_reporting', 'fx.has_rate') }}
        as paid_amount_reporting
from funnel
asof left join {{ ref('int_fx_rates') }} as fx
    on fx.currency = funnel.paid_currency and fx.rate_date <= funnel.paid_date
