-- Append-only history of deal stage moves (first row: entry into the pipeline).
-- Latest live version of each key: stg_deal_stage_history_versions (where raw.deal_stage_history is renamed) read
-- FINAL - the `final` setting puts FINAL on the raw table under it, keeping the highest _change_seq - with
-- tombstones dropped.
select * except (_is_deleted)
from {{ ref('stg_deal_stage_history_versions') }}
where _is_deleted = 0
settings final = 1
