-- Table over a table and an incremental model: the GROUP BY a dashboard would run.
{{ config(materialized='table', order_by='customer_id') }}
select c.customer_id as customer_id, c.name as name, count() as events, sum(e.amount) as revenue
from {{ ref('customers_dim') }} as c
inner join {{ ref('events_delete_insert') }} as e on e.customer_id = c.customer_id
group by c.customer_id, c.name
