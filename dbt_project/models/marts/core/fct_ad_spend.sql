-- Daily advertising spend per campaign, in its currency and in the reporting currency at the day's central-bank rate (NULL when no
-- rate on or before the day is known: the marts that total it show NULL then, and readers say which is missing).
select
    toInt64(ad_spend.ad_spend_id) as ad_spend_id,
    toInt64(ad_spend.campaign_id) as campaign_id,
    toDate(ad_spend.day) as day,
    toString(ad_spend.currency) as currency,
    toDecimal128(ad_spend.amount, 2) as amount,
    {{ to_reporting('ad_spend.amount', 'ad_spend.currency', 'fx.rate_to_reporting', 'fx.has_rate') }} as amount_reporting,
    ad_spend.impressions as impressions,
    ad_spend.clicks as clicks
from {{ ref('stg_ad_spend') }} as ad_spend
asof left join {{ ref('int_fx_rates') }} as fx on fx.currency = ad_spend.currency and fx.rate_date <= ad_spend.day
