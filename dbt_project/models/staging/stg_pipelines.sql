-- Sales pipelines.
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as pipeline_id,
    code,
    name,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'pipelines') }} final
where _is_deleted = 0
