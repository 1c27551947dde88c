-- Delivery events from the messaging providers, one row per (message, event); the latest loaded file wins.
with rows as (
    select * from {{ source('raw', 'feed_messages') }} final
)

select
    message_id as message_external_id,
    channel,
    event,
    ts as event_at,
    template,
    _file as source_file,
    _loaded_at
from rows
order by _loaded_at desc, _line desc
limit 1 by message_id, event
