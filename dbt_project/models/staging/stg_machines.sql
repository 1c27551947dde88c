-- Vending machines dispensing sterile uniform kits.
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as machine_id,
    serial,
    hospital_id,
    location,
    status,
    installed_on,
    last_seen_at,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'machines') }} final
where _is_deleted = 0
