-- Marketing channels and campaigns. Campaign 0 is the "no campaign" member for organic leads, so every
-- lead and every spend row joins to a row here.
select
    campaign_id,
    external_id as campaign_external_id,
    name as campaign_name,
    channel,
    utm_source,
    utm_medium,
    utm_campaign,
    starts_on,
    ends_on,
    budget,
    currency
from {{ ref('stg_campaigns') }}
union all
select
    toInt64(0),
    null,
    '(no campaign)',
    'organic',
    null,
    null,
    null,
    null,
    null,
    null,
    '{{ var("reporting_currency") }}'
