-- One row per primary booking journey "from the booking to the chair" (int_clinic_journeys: a lead's booking of a
-- first visit, reschedules collapsed), with the names of its advertising source, campaign, branch, doctor and
-- specialty: the clinic funnel by branch, specialty and doctor, which leads and ad spend do not have. Insured journeys
-- stay as rows (is_insured) so they can be counted apart; every primary metric below leaves them out.
select
    toInt64(journeys.journey_id) as journey_id,
    journeys.lead_id as lead_id,
    toInt64(journeys.contact_id) as contact_id,
    toDate(journeys.cohort_month) as cohort_month,
    toDate(journeys.lead_date) as lead_date,
    toDate(journeys.booked_date) as booked_date,
    toDate(journeys.visit_date) as visit_date,
    journeys.first_treatment_date as first_treatment_date,
    toString(journeys.channel) as channel,
    toInt64(journeys.campaign_id) as campaign_id,
    toString(coalesce(nullIf(campaigns.campaign_name, ''), '(no campaign)')) as campaign_name,
    toInt64(journeys.branch_id) as branch_id,
    toString(coalesce(nullIf(branches.branch_name, ''), '(unknown branch)')) as branch_name,
    toString(coalesce(branches.city, '')) as city,
    journeys.doctor_id as doctor_id,
    toString(coalesce(nullIf(doctors.doctor_name, ''), '(no doctor)')) as doctor_name,
    toString(journeys.specialty) as specialty,
    toBool(journeys.is_insured) as is_insured,
    toUInt64(journeys.appointments) as appointments,
    toUInt64(journeys.reschedules) as reschedules,
    journeys.booked_at as booked_at,
    journeys.visit_at as visit_at,
    toString(journeys.visit_status) as visit_status,
    toBool(journeys.showed_up) as showed_up,
    toBool(journeys.is_treated) as is_treated,
    toUInt64(journeys.treatment_visits) as treatment_visits,
    journeys.first_treatment_at as first_treatment_at,
    toDecimal128(journeys.treatment_revenue_reporting, 2) as treatment_revenue_reporting,
    journeys.days_to_visit as days_to_visit,
    journeys.days_to_treatment as days_to_treatment
from {{ ref('int_clinic_journeys') }} as journeys
left join {{ ref('dim_campaigns') }} as campaigns on campaigns.campaign_id = journeys.campaign_id
left join {{ ref('dim_branches') }} as branches on branches.branch_id = journeys.branch_id
left join {{ ref('dim_doctors') }} as doctors on doctors.doctor_id = journeys.doctor_id
