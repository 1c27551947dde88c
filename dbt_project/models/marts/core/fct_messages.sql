{{
    config(
        materialized='incremental',
        incremental_strategy='delete_insert',
        unique_key='message_id',
        engine=replicated_engine('MergeTree()'),
        order_by='(contact_id, message_id)',
        partition_by='toYYYYMM(created_at)',
        post_hook="{{ delete_tombstones() }}",
        on_schema_change='append_new_columns',
    )
}}
-- One row per message or reminder sent to a contact, with its delivery milestones.
with messages as (
    {{ latest_versions(ref('stg_messages'), ref('stg_messages_versions'), new_columns=['purpose', 'nps_score']) }}
)

select
    message_id,
    provider_message_id,
    contact_id,
    appointment_id,
    channel,
    template,
    purpose,
    nps_score,
    status,
    created_at,
    sent_at,
    delivered_at,
    read_at,
    confirmed_at,
    delivered_at is not null as is_delivered,
    confirmed_at is not null as is_confirmed,
    _change_seq,
    _is_deleted,
    _loaded_at
from messages
