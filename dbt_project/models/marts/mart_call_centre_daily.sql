-- Call-centre metrics per operator (people and voice robots) and day (company time zone): inbound and outbound
-- calls, answered rate, missed and abandoned calls, average handle and talk time, missed calls called back within
-- 15 minutes, and speed to lead (lead received -> first call to it) for the leads assigned to the operator that day.
-- Missed = inbound and not answered; abandoned = missed where the caller hung up while it rang (outcome 'missed').
-- What the calls led to: a lead is credited to the operator whose call first reached it (the earliest answered call
-- about the lead, ties by call id), on that call's day; of those leads, how many went on to book, attend and pay
-- (int_lead_funnel: reached = the lead's deal entered the stage or a later one; paid excludes insurance visits).
with calls as (
    select
        {{ company_date('started_at') }} as day,
        coalesce(operator_id, toInt64(0)) as operator_id,
        direction,
        is_answered,
        is_robot,
        outcome,
        talk_seconds,
        handle_seconds
    from {{ ref('fct_calls') }}
),

call_days as (
    select
        day,
        operator_id,
        countIf(direction = 'inbound') as inbound_calls,
        countIf(direction = 'outbound') as outbound_calls,
        countIf(is_answered) as answered_calls,
        countIf(direction = 'inbound' and not is_answered) as missed_calls,
        countIf(direction = 'inbound' and not is_answered and outcome = 'missed') as abandoned_calls,
        countIf(is_robot) as robot_calls,
        countIf(not is_robot) as human_calls,
        sumIf(handle_seconds, is_answered) as handle_seconds,
        sumIf(talk_seconds, is_answered) as talk_seconds
    from calls
    group by day, operator_id
),

callbacks as (
    select
        {{ company_date('started_at') }} as day,
        coalesce(operator_id, toInt64(0)) as operator_id,
        countIf(called_back_within_15m) as callbacks_within_15m
    from {{ ref('int_call_callbacks') }}
    group by day, operator_id
),

first_calls as (
    select lead_id, min(started_at) as first_call_at
    from {{ ref('fct_calls') }}
    where lead_id is not null
    group by lead_id
),

lead_days as (
    select
        funnel.lead_date as day,
        coalesce(funnel.operator_id, toInt64(0)) as operator_id,
        count() as leads_assigned,
        countIf(first_calls.lead_id != 0) as leads_called,
        sumIf(greatest(dateDiff('second', funnel.received_at, first_calls.first_call_at), 0), first_calls.lead_id != 0)
            as speed_to_lead_seconds_total,
        medianExactIf(greatest(dateDiff('second', funnel.received_at, first_calls.first_call_at), 0) / 60,
                      first_calls.lead_id != 0) as median_speed_to_lead_minutes
    from {{ ref('int_lead_funnel') }} as funnel
    left join first_calls on first_calls.lead_id = funnel.lead_id
    group by day, operator_id
),

first_reached as (
    -- the operator whose call first reached each lead, and when
    select
        lead_id,
        argMin(coalesce(operator_id, toInt64(0)), (started_at, call_id)) as operator_id,
        min(started_at) as reached_at
    from {{ ref('fct_calls') }}
    where lead_id is not null and is_answered
    group by lead_id
),

outcome_days as (
    select
        {{ company_date('first_reached.reached_at') }} as day,
        first_reached.operator_id as operator_id,
        count() as leads_contacted,
        -- insured bookings are in no primary-patient figure (int_lead_funnel.is_insured); paid already leaves them out
        countIf(funnel.is_booked and not funnel.is_insured) as leads_booked,
        countIf(funnel.is_attended and not funnel.is_insured) as leads_attended,
        countIf(funnel.is_paid) as leads_paid
    from first_reached
    inner join {{ ref('int_lead_funnel') }} as funnel on funnel.lead_id = first_reached.lead_id
    group by day, operator_id
),

keys as (
    select day, operator_id from call_days
    union distinct
    select day, operator_id from lead_days
    union distinct
    select day, operator_id from outcome_days
)

select
    toDate(keys.day) as day,
    toInt64(keys.operator_id) as operator_id,
    toString(coalesce(operators.operator_name, '(unassigned)')) as operator_name,
    toBool(coalesce(operators.is_robot, false)) as is_robot,
    toUInt64(call_days.inbound_calls) as inbound_calls,
    toUInt64(call_days.outbound_calls) as outbound_calls,
    toUInt64(call_days.answered_calls) as answered_calls,
    toFloat64(if(call_days.inbound_calls + call_days.outbound_calls = 0, 0,
                 call_days.answered_calls / (call_days.inbound_calls + call_days.outbound_calls))) as answered_rate,
    toUInt64(call_days.missed_calls) as missed_calls,
    toUInt64(call_days.abandoned_calls) as abandoned_calls,
    toUInt64(callbacks.callbacks_within_15m) as callbacks_within_15m,
    toFloat64(if(call_days.answered_calls = 0, 0, call_days.handle_seconds / call_days.answered_calls))
        as avg_handle_seconds,
    toFloat64(if(call_days.answered_calls = 0, 0, call_days.talk_seconds / call_days.answered_calls))
        as avg_talk_seconds,
    toUInt64(call_days.robot_calls) as robot_calls,
    toUInt64(call_days.human_calls) as human_calls,
    toUInt64(lead_days.leads_assigned) as leads_assigned,
    toUInt64(lead_days.leads_called) as leads_called,
    if(lead_days.leads_called = 0, NULL, toFloat64(lead_days.speed_to_lead_seconds_total / lead_days.leads_called / 60))
        as avg_speed_to_lead_minutes,
    if(lead_days.leads_called = 0, NULL, toFloat64(lead_days.median_speed_to_lead_minutes))
        as median_speed_to_lead_minutes,
    toUInt64(outcome_days.leads_contacted) as leads_contacted,
    toUInt64(outcome_days.leads_booked) as leads_booked,
    toUInt64(outcome_days.leads_attended) as leads_attended,
    toUInt64(outcome_days.leads_paid) as leads_paid
from keys
left join call_days on call_days.day = keys.day and call_days.operator_id = keys.operator_id
left join callbacks on callbacks.day = keys.day and callbacks.operator_id = keys.operator_id
left join lead_days on lead_days.day = keys.day and lead_days.operator_id = keys.operator_id
left join outcome_days on outcome_days.day = keys.day and outcome_days.operator_id = keys.operator_id
left join {{ ref('dim_operators') }} as operators on operators.operator_id = keys.operator_id
