-- Patients / clients; external_id is the medical information system ID.
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as contact_id,
    external_id,
    full_name,
    phone,
    email,
    birth_date,
    gender,
    city,
    source,
    marketing_consent,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'contacts') }} final
where _is_deleted = 0
