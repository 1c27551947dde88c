-- Daily advertising spend of a campaign.
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as ad_spend_id,
    campaign_id,
    day,
    amount,
    currency,
    impressions,
    clicks,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'ad_spend') }} final
where _is_deleted = 0
