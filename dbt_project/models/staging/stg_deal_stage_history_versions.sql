-- Append-only history of deal stage moves (first row: entry into the pipeline): every version loaded into raw,
-- tombstones included. The one place raw.deal_stage_history is renamed and typed; stg_deal_stage_history keeps the
-- latest live version of each move, and fct_deal_stage_changes reads the versions changed since its last run from
-- here (no FINAL, so its filter on _change_seq reaches the raw table).
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
    _is_deleted,
    _loaded_at
from {{ source('raw', 'deal_stage_history') }}
