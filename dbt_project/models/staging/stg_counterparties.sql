-- Insurers, assistance companies, partner clinics.
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as counterparty_id,
    external_id,
    name,
    kind,
    country,
    currency,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'counterparties') }} final
where _is_deleted = 0
