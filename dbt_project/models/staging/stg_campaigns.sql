-- Marketing campaigns (UTM-tagged).
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as campaign_id,
    external_id,
    name,
    channel,
    utm_source,
    utm_medium,
    utm_campaign,
    starts_on,
    ends_on,
    budget,
    currency,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'campaigns') }} final
where _is_deleted = 0
