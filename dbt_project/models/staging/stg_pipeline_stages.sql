-- Ordered stages of a pipeline.
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as pipeline_stage_id,
    pipeline_id,
    code,
    name,
    position,
    is_won,
    is_lost,
    funnel_step,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'pipeline_stages') }} final
where _is_deleted = 0
