-- Incremental, append: every new version is added once (a change log), nothing is replaced.
{{ config(materialized='incremental', incremental_strategy='append', order_by='(event_id, updated_at)') }}
select event_id, customer_id, kind, amount, updated_at
from {{ ref('stg_events') }}
{% if is_incremental() %}
where updated_at > (select max(updated_at) from {{ this }})
{% endif %}
