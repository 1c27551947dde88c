-- Clinic branches where appointments happen.
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as branch_id,
    external_id,
    name,
    city,
    address,
    time_zone,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'branches') }} final
where _is_deleted = 0
