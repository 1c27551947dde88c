{{
    config(
        materialized='incremental',
        incremental_strategy='delete_insert',
        unique_key='vend_authorisation_id',
        engine=replicated_engine('MergeTree()'),
        order_by='(requested_at, vend_authorisation_id)',
        partition_by='toYYYYMM(requested_at)',
        post_hook="{{ delete_tombstones() }}",
    )
}}
-- Every authorisation a machine asked for and the API's decision (with the decline reason).
with auths as (
    {{ latest_versions(source('raw', 'vend_authorisations')) }}
)

select
    id as vend_authorisation_id,
    machine_id,
    customer_id,
    product_id,
    quantity,
    price,
    decision,
    decision = 'declined' as is_declined,
    reason as decline_reason,
    requested_at,
    _change_seq,
    _is_deleted,
    _loaded_at
from auths
