-- Alerts for the owner (e.g. a customer locked by bad PINs).
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as alert_id,
    kind,
    severity,
    status,
    customer_id,
    machine_id,
    message,
    details,
    raised_at,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'alerts') }} final
where _is_deleted = 0
