-- People at a hospital who receive reports (future report subscriptions).
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as report_contact_id,
    hospital_id,
    name,
    email,
    locale,
    role,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'report_contacts') }} final
where _is_deleted = 0
