-- Incremental, delete+insert: rows of changed keys are deleted, then the new versions inserted.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='event_id', order_by='event_id') }}
select event_id, customer_id, kind, amount, updated_at
from {{ ref('stg_events') }}
{% if is_incremental() %}
where updated_at > (select max(updated_at) from {{ this }})
{% endif %}
