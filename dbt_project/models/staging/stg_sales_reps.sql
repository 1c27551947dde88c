-- Sales representatives, each looking after a territory of hospitals (stg_sales_rep_territories).
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as sales_rep_id,
    name as sales_rep_name,
    email,
    locale,
    status,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'sales_reps') }} final
where _is_deleted = 0
