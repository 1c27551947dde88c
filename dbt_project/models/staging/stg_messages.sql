-- Messages and reminders sent to contacts.
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as message_id,
    external_id,
    contact_id,
    appointment_id,
    channel,
    template,
    status,
    sent_at,
    delivered_at,
    read_at,
    confirmed_at,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'messages') }} final
where _is_deleted = 0
