-- Which hospitals (and so their machines) a sales rep looks after: one row per live rep-hospital pair.
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as sales_rep_territory_id,
    sales_rep_id,
    hospital_id,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'sales_rep_territories') }} final
where _is_deleted = 0
