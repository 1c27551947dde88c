-- Voice-robot calls and what came of them: the robot's outcome, and whether an unconfirmed call needed a person.
-- Outcome: confirmed (the script's confirm_visit answer is yes), declined (answered something else), no_reply (the
-- call was answered but confirm_visit got no answer or was not asked), not_answered (nobody picked up).
-- Needed a human callback: the robot call was not confirmed and a person (not a robot) called the same contact
-- (outbound, same contact_id) within robot_callback_window_hours() after the robot call ended (macros/calls.sql,
-- the one definition of the window); the first such call is the callback.
with robot as (
    select
        call_id,
        started_at,
        coalesce(ended_at, started_at) as finished_at,
        coalesce(operator_id, toInt64(0)) as operator_id,
        contact_id,
        lead_id,
        deal_id,
        outcome,
        is_answered,
        multiIf(not is_answered, 'not_answered',
                script_answers['confirm_visit'] = '', 'no_reply',
                {{ is_yes("script_answers['confirm_visit']") }}, 'confirmed',
                'declined') as robot_outcome
    from {{ ref('fct_calls') }}
    where is_robot
),

human as (
    select call_id, contact_id, operator_id, started_at
    from {{ ref('fct_calls') }}
    where not is_robot and direction = 'outbound' and contact_id is not null and operator_id is not null
),

callbacks as (
    select
        robot.call_id as call_id,
        argMin(human.call_id, (human.started_at, human.call_id)) as callback_call_id,
        argMin(human.operator_id, (human.started_at, human.call_id)) as callback_operator_id,
        min(human.started_at) as callback_at
    from robot
    inner join human on human.contact_id = robot.contact_id
    where robot.robot_outcome != 'confirmed'
      and human.started_at > robot.finished_at
      and human.started_at <= robot.finished_at + interval {{ robot_callback_window_hours() }} hour
    group by robot.call_id
)

select
    toInt64(robot.call_id) as call_id,
    toDateTime64(robot.started_at, 3, 'UTC') as started_at,
    toDate({{ company_date('robot.started_at') }}) as day,
    toInt64(robot.operator_id) as operator_id,
    toString(coalesce(robots.operator_name, '(unassigned)')) as operator_name,
    robot.contact_id as contact_id,
    robot.lead_id as lead_id,
    robot.deal_id as deal_id,
    toString(robot.outcome) as outcome,
    toString(robot.robot_outcome) as robot_outcome,
    toBool(robot.robot_outcome = 'confirmed') as is_confirmed,
    toBool(callbacks.call_id is not null) as needed_human_callback,
    callbacks.callback_call_id as human_callback_call_id,
    if(callbacks.call_id is null, NULL, toString(coalesce(people.operator_name, '(unassigned)')))
        as human_callback_operator_name,
    if(callbacks.call_id is null, NULL,
       toFloat64(dateDiff('second', robot.finished_at, callbacks.callback_at) / 60)) as minutes_to_human_callback
from robot
left join callbacks on callbacks.call_id = robot.call_id
left join {{ ref('dim_operators') }} as robots on robots.operator_id = robot.operator_id
left join {{ ref('dim_operators') }} as people on people.operator_id = callbacks.callback_operator_id
settings join_use_nulls = 1
