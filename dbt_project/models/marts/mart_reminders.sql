-- Messages to patients by purpose (booking confirmations, day-before reminders, same-day notices, birthday greetings,
-- NPS surveys): one row per message, with its delivery as the CRM and the provider (the messaging feed) saw it, the
-- patient's confirmation by reply, the appointment's outcome and the NPS answer.
with messages as (
    select * from {{ ref('fct_messages') }}
),

-- The providers' delivery events: a message counts as delivered when either side says so (the CRM's status lags
-- the provider now and then), and as failed when the provider reported a failure or bounce.
provider as (
    select
        message_external_id,
        minIf(event_at, event in ('delivered', 'read', 'confirmed')) as delivered_at,
        countIf(event in ('delivered', 'read', 'confirmed')) > 0 as has_delivery,
        countIf(event in ('failed', 'bounced')) > 0 as has_failure
    from {{ ref('stg_feed_messages') }}
    group by message_external_id
),

appointments as (
    select appointment_id, branch_id, status from {{ ref('fct_appointments') }}
),

branches as (
    select branch_id, name from {{ ref('stg_branches') }}
)

select
    toInt64(messages.message_id) as message_id,
    {{ company_date('coalesce(messages.sent_at, messages.created_at)') }} as sent_on,
    toString(messages.purpose) as purpose,
    -- The purposes that ask the patient to confirm the visit by reply.
    toBool(messages.purpose in ('booking_confirmation', 'day_before_reminder')) as asks_confirmation,
    toString(messages.channel) as channel,
    toString(messages.template) as template,
    -- Unmatched LEFT JOIN rows hold defaults (0, '', false), not NULLs: branch 0 is "no appointment / branch".
    toInt64(branches.branch_id) as branch_id,
    if(branches.branch_id = 0, '(none)', toString(branches.name)) as branch_name,
    toBool(messages.is_delivered or provider.has_delivery) as is_delivered,
    toBool(not (messages.is_delivered or provider.has_delivery)
           and (messages.status = 'failed' or provider.has_failure)) as is_failed,
    if(provider.has_delivery, provider.delivered_at, NULL)::Nullable(DateTime64(3, 'UTC')) as provider_delivered_at,
    toBool(messages.is_confirmed) as is_confirmed,
    toInt64(coalesce(messages.appointment_id, 0)) as appointment_id,
    toString(appointments.status) as appointment_status,
    -- the visit, not this message: a patient asked twice (booking confirmation, day-before reminder) who confirmed
    -- either time confirmed the visit
    toBool(max(messages.is_confirmed and messages.purpose in ('booking_confirmation', 'day_before_reminder'))
        over (partition by coalesce(messages.appointment_id, -messages.message_id))) as visit_confirmed,
    messages.nps_score::Nullable(UInt8) as nps_score,
    toUInt8(coalesce(messages.nps_score >= 9, false)) as is_promoter,
    toUInt8(coalesce(messages.nps_score <= 6, false)) as is_detractor
from messages
left join provider on provider.message_external_id = messages.provider_message_id
left join appointments on appointments.appointment_id = messages.appointment_id
left join branches on branches.branch_id = appointments.branch_id
