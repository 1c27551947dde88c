-- Call-centre and front-desk operators (and robots).
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as operator_id,
    external_id,
    name,
    email,
    team,
    is_robot,
    active,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'operators') }} final
where _is_deleted = 0
