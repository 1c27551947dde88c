-- The alert log: what was raised (by a rule or an integration), its state and values.
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as alert_id,
    kind,
    severity,
    status,
    rule_id,
    subject,
    customer_id,
    machine_id,
    hospital_id,
    message,
    details,
    raised_at,
    occurrences,
    last_seen_at,
    notified_at,
    acknowledged_at,
    acknowledged_by,
    resolved_at,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'alerts') }} final
where _is_deleted = 0
