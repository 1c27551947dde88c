-- Vends reported by machines (live or uploaded later from an offline buffer).
-- Latest live version of each key: stg_vend_transactions_versions (where raw.vend_transactions is renamed) read
-- FINAL - the `final` setting puts FINAL on the raw table under it, keeping the highest _change_seq - with
-- tombstones dropped.
select * except (_is_deleted)
from {{ ref('stg_vend_transactions_versions') }}
where _is_deleted = 0
settings final = 1
