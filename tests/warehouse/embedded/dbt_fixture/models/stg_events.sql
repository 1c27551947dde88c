-- View: the latest version of each event (raw_events receives corrected rows as new versions).
-- Columns are qualified with `r.`: ClickHouse would otherwise resolve `updated_at` to the output alias.
{{ config(materialized='view') }}
select
    r.event_id as event_id,
    argMax(r.customer_id, r.updated_at) as customer_id,
    argMax(r.kind, r.updated_at) as kind,
    argMax(r.amount, r.updated_at) as amount,
    max(r.updated_at) as updated_at
from {{ source('raw', 'raw_events') }} as r
group by r.event_id
