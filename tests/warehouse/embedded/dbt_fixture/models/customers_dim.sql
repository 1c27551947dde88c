-- Table built from a seed.
{{ config(materialized='table', order_by='customer_id') }}
select customer_id, name, tier
from {{ ref('customers') }}
