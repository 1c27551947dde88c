-- Unanswered inbound calls and whether someone called the number back within 15 minutes of the call ending.
with missed as (
    select call_id, operator_id, phone, started_at, coalesce(ended_at, started_at) as ended_at, outcome
    from {{ ref('fct_calls') }}
    where direction = 'inbound' and not is_answered
),

outbound as (
    select phone, started_at
    from {{ ref('fct_calls') }}
    where direction = 'outbound' and phone is not null
)

select
    missed.call_id as call_id,
    missed.operator_id as operator_id,
    missed.started_at as started_at,
    missed.outcome as outcome,
    countIf(outbound.started_at >= missed.ended_at
            and outbound.started_at <= missed.ended_at + interval 15 minute) > 0 as called_back_within_15m
from missed
left join outbound on outbound.phone = missed.phone
group by call_id, operator_id, started_at, outcome
