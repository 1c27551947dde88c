-- Kit products (SKUs).
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as product_id,
    sku,
    name,
    kit_type,
    size,
    active,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'products') }} final
where _is_deleted = 0
