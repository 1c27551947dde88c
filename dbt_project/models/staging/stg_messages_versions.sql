-- Messages and reminders sent to contacts: every version loaded into raw, tombstones included. The one place
-- raw.messages is renamed and typed; stg_messages keeps the latest live version of each message, and fct_messages
-- reads the versions changed since its last run from here (no FINAL, so its filter on _change_seq reaches the raw
-- table).
select
    id as message_id,
    external_id as provider_message_id,
    contact_id,
    appointment_id,
    channel,
    template,
    status,
    sent_at,
    delivered_at,
    read_at,
    confirmed_at,
    purpose,
    nps_score,
    created_at,
    updated_at,
    _change_seq,
    _is_deleted,
    _loaded_at
from {{ source('raw', 'messages') }}
