-- Doctors seeing patients in appointments.
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as doctor_id,
    external_id,
    name,
    specialty,
    branch_id,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'doctors') }} final
where _is_deleted = 0
