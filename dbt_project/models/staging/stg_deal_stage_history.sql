-- Append-only history of deal stage moves (first row: entry into the pipeline).
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as deal_stage_change_id,
    deal_id,
    from_stage_id,
    to_stage_id,
    operator_id,
    changed_at,
    comment,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'deal_stage_history') }} final
where _is_deleted = 0
