-- Deals moving through pipeline stages.
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as deal_id,
    external_id,
    pipeline_id,
    stage_id,
    contact_id,
    lead_id,
    operator_id,
    title,
    amount,
    currency,
    status,
    stage_changed_at,
    closed_at,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'deals') }} final
where _is_deleted = 0
