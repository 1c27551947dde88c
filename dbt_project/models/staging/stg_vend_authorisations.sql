-- Every vend authorisation request and its decision (with reason).
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as vend_authorisation_id,
    machine_id,
    customer_id,
    product_id,
    quantity,
    price,
    decision,
    reason,
    requested_at,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'vend_authorisations') }} final
where _is_deleted = 0
