-- Price list: a product's price valid in [valid_from, valid_to).
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as product_price_id,
    product_id,
    price,
    currency,
    valid_from,
    valid_to,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'product_prices') }} final
where _is_deleted = 0
