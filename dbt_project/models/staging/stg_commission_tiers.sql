-- Volume tiers of a commission plan: the rate applies from min_monthly_kits up.
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as commission_tier_id,
    plan_id,
    min_monthly_kits,
    rate,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'commission_tiers') }} final
where _is_deleted = 0
