-- Daily spend per campaign as the ad platforms report it (platform currency). campaign_id in the feed is the
-- campaign's external id ("<platform>:<n>"); one row per (date, campaign), the latest loaded file wins.
with rows as (
    select * from {{ source('raw', 'feed_ad_spend') }} final
)

select
    date as spend_date,
    platform,
    campaign_id as campaign_external_id,
    utm_campaign,
    impressions,
    clicks,
    spend,
    currency,
    _file as source_file,
    _loaded_at
from rows
order by _loaded_at desc, _line desc
limit 1 by date, campaign_id
