-- Latest live version of each hospital. Every stg_<table> model follows this shape: FINAL keeps one version
-- per key, tombstones are dropped, and _change_seq/_loaded_at are kept for incremental models downstream. (A raw
-- table an incremental fact reads is renamed in stg_<table>_versions, every version, which stg_<table> reads FINAL.)
select
    id as hospital_id,
    code as hospital_code,
    name as hospital_name,
    city,
    region,
    time_zone,
    commission_plan_id,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'hospitals') }} final
where _is_deleted = 0
