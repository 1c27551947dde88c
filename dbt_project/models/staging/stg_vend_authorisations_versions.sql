-- Every vend authorisation request and its decision (with reason): every version loaded into raw, tombstones
-- included. The one place raw.vend_authorisations is renamed and typed; stg_vend_authorisations keeps the latest
-- live version of each, and fct_vend_authorisations reads the versions changed since its last run from here (no
-- FINAL, so its filter on _change_seq reaches the raw table).
select
    id as vend_authorisation_id,
    machine_id,
    customer_id,
    product_id,
    quantity,
    price,
    decision,
    reason as decline_reason,
    requested_at,
    created_at,
    updated_at,
    _change_seq,
    _is_deleted,
    _loaded_at
from {{ source('raw', 'vend_authorisations') }}
