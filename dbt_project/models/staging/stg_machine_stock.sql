-- Kits currently loaded in a machine, per product.
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as machine_stock_id,
    machine_id,
    product_id,
    quantity,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'machine_stock') }} final
where _is_deleted = 0
