-- Phone calls handled by operators or robots.
-- Latest live version of each key: stg_calls_versions (where raw.calls is renamed) read FINAL - the `final` setting
-- puts FINAL on the raw table under it, keeping the highest _change_seq - with tombstones dropped.
select * except (_is_deleted)
from {{ ref('stg_calls_versions') }}
where _is_deleted = 0
settings final = 1
