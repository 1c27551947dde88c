-- Leads: requests from prospective patients.
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as lead_id,
    external_id,
    contact_id,
    channel,
    campaign_id,
    utm_source,
    utm_medium,
    utm_campaign,
    utm_content,
    utm_term,
    service_of_interest,
    status,
    lost_reason,
    assigned_operator_id,
    received_at,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'leads') }} final
where _is_deleted = 0
