-- Messages and reminders sent to contacts.
-- Latest live version of each key: stg_messages_versions (where raw.messages is renamed) read FINAL - the `final`
-- setting puts FINAL on the raw table under it, keeping the highest _change_seq - with tombstones dropped.
select * except (_is_deleted)
from {{ ref('stg_messages_versions') }}
where _is_deleted = 0
settings final = 1
