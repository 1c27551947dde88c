-- Kit products with their current list price.
with current_prices as (
    select product_id, price, currency
    from {{ ref('stg_product_prices') }}
    order by valid_from desc
    limit 1 by product_id
)

select
    products.product_id as product_id,
    products.sku as sku,
    products.name as product_name,
    products.kit_type as kit_type,
    products.size as size,
    products.active as is_active,
    current_prices.price as current_price,
    current_prices.currency as current_price_currency
from {{ ref('stg_products') }} as products
left join current_prices
    on current_prices.product_id = products.product_id
