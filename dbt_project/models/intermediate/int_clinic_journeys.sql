-- One row per primary booking journey, "from the booking to the chair": a lead's booking of a first (primary) visit,
-- whether the patient came, and whether they went on to paid treatment afterwards.
--
-- The journey is a lead's (a booking made without a lead is its contact's journey). Its bookings are its self-paid
-- primary appointments or, when it has none, its insured ones (an insurance visit: zero price under a policy, the
-- is_insurance_visit macro in fct_appointments): such a journey is insured, and the marts count it apart from every
-- primary-patient figure. A reschedule is another appointment of the same lead, so reschedules collapse into the one
-- booking, booked when the first of them was. The first visit is the earliest attended of them, else the one that
-- stands (the latest not rescheduled).
--
-- Treatment: an attended, self-paid visit (price > 0, not an insurance visit) of the same patient scheduled after
-- the journey's first visit, whatever its visit type, other than a journey's own first visit. Each such visit
-- belongs to the patient's latest attended first visit before it (ASOF), so a returning patient's treatment is
-- never counted for two journeys. Its price is converted at the rate of its day (company time zone).
with appointments as (
    select
        appointment_id,
        contact_id,
        lead_id,
        if(lead_id is null, 'contact ' || toString(contact_id), 'lead ' || toString(lead_id)) as journey_key,
        branch_id,
        doctor_id,
        visit_type,
        status,
        is_attended,
        is_insurance_visit,
        scheduled_at,
        price,
        currency,
        booked_at
    from {{ ref('fct_appointments') }}
),

primaries as (
    select
        *,
        max(not is_insurance_visit) over (partition by journey_key) as has_self_paid
    from appointments
    where visit_type = 'primary'
),

journeys as (
    select
        journey_key,
        any(lead_id) as lead_id,
        not any(has_self_paid) as is_insured,
        count() as appointments,
        countIf(status = 'rescheduled') as reschedules,
        min(booked_at) as booked_at,
        -- the first visit: the earliest attended, else the latest that was not rescheduled, else the latest
        argMin(
            (appointment_id, contact_id, branch_id, doctor_id, scheduled_at, status, is_attended),
            (
                if(is_attended, 0, if(status = 'rescheduled', 2, 1)),
                if(is_attended, 1, -1) * toInt64(toUnixTimestamp(scheduled_at)),
                if(is_attended, 1, -1) * appointment_id
            )
        ) as visit
    from primaries
    -- a self-paid journey's insured appointments are not its bookings
    where is_insurance_visit = not has_self_paid
    group by journey_key
),

journey_visits as (
    select
        journey_key,
        lead_id,
        is_insured,
        appointments,
        reschedules,
        booked_at,
        visit.1 as visit_appointment_id,
        visit.2 as contact_id,
        visit.3 as branch_id,
        visit.4 as doctor_id,
        visit.5 as visit_at,
        visit.6 as visit_status,
        toBool(visit.7) as showed_up
    from journeys
),

treatment_visits as (
    select
        appointment_id,
        contact_id,
        scheduled_at,
        toDate32({{ company_date('scheduled_at') }}) as visit_date,
        price,
        currency
    from appointments
    where is_attended
      and not is_insurance_visit
      and price > 0
      and appointment_id not in (select visit_appointment_id from journey_visits)
),

attributed as (
    select
        journeys.journey_key as journey_key,
        treatment_visits.scheduled_at as scheduled_at,
        {{ to_reporting('treatment_visits.price', 'treatment_visits.currency', 'fx.rate_to_reporting', 'fx.has_rate') }}
            as price_reporting
    from treatment_visits
    asof inner join (
        select journey_key, contact_id, visit_at from journey_visits where showed_up
    ) as journeys
        on journeys.contact_id = treatment_visits.contact_id and treatment_visits.scheduled_at > journeys.visit_at
    asof left join {{ ref('int_fx_rates') }} as fx
        on fx.currency = treatment_visits.currency and fx.rate_date <= treatment_visits.visit_date
),

treatment as (
    select
        journey_key,
        count() as treatment_visits,
        min(scheduled_at) as first_treatment_at,
        {{ sum_converted('price_reporting') }} as treatment_revenue_reporting
    from attributed
    group by journey_key
),

leads as (
    select lead_id, marketing_channel, campaign_id, lead_date, cohort_month, 1 as is_live_lead
    from {{ ref('int_lead_funnel') }}
),

doctors as (
    select doctor_id, specialty from {{ ref('dim_doctors') }}
)

select
    journey_visits.visit_appointment_id as journey_id,
    journey_visits.lead_id as lead_id,
    journey_visits.contact_id as contact_id,
    -- the advertising source is the lead's, as the marketing mart attributes it; no live lead: 'no_lead'
    if(leads.is_live_lead = 1, leads.marketing_channel, 'no_lead') as channel,
    if(leads.is_live_lead = 1, leads.campaign_id, toInt64(0)) as campaign_id,
    journey_visits.branch_id as branch_id,
    journey_visits.doctor_id as doctor_id,
    coalesce(nullIf(doctors.specialty, ''), '(no doctor)') as specialty,
    journey_visits.is_insured as is_insured,
    journey_visits.appointments as appointments,
    journey_visits.reschedules as reschedules,
    journey_visits.booked_at as booked_at,
    journey_visits.visit_at as visit_at,
    journey_visits.visit_status as visit_status,
    journey_visits.showed_up as showed_up,
    toBool(journey_visits.showed_up and treatment.treatment_visits > 0) as is_treated,
    toUInt64(if(journey_visits.showed_up, treatment.treatment_visits, 0)) as treatment_visits,
    if(is_treated, treatment.first_treatment_at, null) as first_treatment_at,
    if(is_treated, treatment.treatment_revenue_reporting, toDecimal128(0, 2)) as treatment_revenue_reporting,
    if(leads.is_live_lead = 1, leads.lead_date, {{ company_date('journey_visits.booked_at') }}) as lead_date,
    if(leads.is_live_lead = 1, leads.cohort_month, toStartOfMonth({{ company_date('journey_visits.booked_at') }}))
        as cohort_month,
    {{ company_date('journey_visits.booked_at') }} as booked_date,
    {{ company_date('journey_visits.visit_at') }} as visit_date,
    if(is_treated, {{ company_date('treatment.first_treatment_at') }}, null) as first_treatment_date,
    if(journey_visits.showed_up, dateDiff('day', booked_date, visit_date), null) as days_to_visit,
    if(is_treated, dateDiff('day', booked_date, first_treatment_date), null) as days_to_treatment
from journey_visits
left join treatment on treatment.journey_key = journey_visits.journey_key
left join leads on leads.lead_id = journey_visits.lead_id
left join doctors on doctors.doctor_id = journey_visits.doctor_id
