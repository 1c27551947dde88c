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
    {{ latest_versions(ref('stg_vend_authorisations'), ref('stg_vend_authorisations_versions')) }}
)

select
    vend_authorisation_id,
    machine_id,
    customer_id,
    product_id,
    quantity,
    price,
    decision,
    decision = 'declined' as is_declined,
    decline_reason,
    requested_at,
    _change_seq,
    _is_deleted,
    _loaded_at
from auths
