-- Every vend authorisation request and its decision (with reason).
-- Latest live version of each key: stg_vend_authorisations_versions (where raw.vend_authorisations is renamed) read
-- FINAL - the `final` setting puts FINAL on the raw table under it, keeping the highest _change_seq - with
-- tombstones dropped.
select * except (_is_deleted)
from {{ ref('stg_vend_authorisations_versions') }}
where _is_deleted = 0
settings final = 1
