-- Commission plans paid to hospitals; rates come from volume tiers.
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as commission_plan_id,
    code,
    name,
    currency,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'commission_plans') }} final
where _is_deleted = 0
