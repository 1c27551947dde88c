-- Ad spend as the CRM holds it (synced from the ad platforms every night) against what the platforms themselves
-- report (the ad-spend feed), one row per day, campaign and currency that either side has: days the sync missed and
-- later credits the platform gave show up as differences, in the campaign currency and the reporting currency.
with crm as (
    select campaign_id, day, currency, amount, amount_reporting
    from {{ ref('fct_ad_spend') }}
),

platform as (
    select
        spend_date as day,
        platform,
        campaign_external_id,
        toString(currency) as currency,
        toDecimal128(spend, 2) as amount
    from {{ ref('stg_feed_ad_spend') }}
),

campaigns as (
    select campaign_id, campaign_external_id, campaign_name, channel from {{ ref('dim_campaigns') }}
),

-- The feed names a campaign by its external id; a campaign the CRM does not know is campaign 0.
platform_keyed as (
    select
        coalesce(campaigns.campaign_id, 0) as campaign_id,
        platform.campaign_external_id as campaign_external_id,
        platform.platform as platform,
        platform.day as day,
        platform.currency as currency,
        platform.amount as amount
    from platform
    left join campaigns on campaigns.campaign_external_id = platform.campaign_external_id
    settings join_use_nulls = 1
),

both_sides as (
    select
        campaign_id,
        day,
        currency,
        max(campaign_external_id) as campaign_external_id,
        max(platform) as platform,
        sumIf(amount, side = 'crm') as crm_amount,
        sumIf(amount, side = 'platform') as platform_amount,
        countIf(side = 'crm') > 0 as in_crm,
        countIf(side = 'platform') > 0 as at_platform
    from (
        select campaign_id, day, '' as unknown_campaign, '' as campaign_external_id, '' as platform, currency, amount,
               'crm' as side
        from crm
        union all
        -- campaigns the CRM does not know stay apart, by the platform's id (campaign 0 alone would merge them)
        select campaign_id, day, if(campaign_id = 0, campaign_external_id, '') as unknown_campaign, campaign_external_id,
               platform, currency, amount, 'platform' as side
        from platform_keyed
    )
    group by campaign_id, day, currency, unknown_campaign
),

fx as (
    select * from {{ ref('int_fx_rates') }}
)

select
    toDate(both_sides.day) as day,
    toInt64(both_sides.campaign_id) as campaign_id,
    toString(if(both_sides.campaign_external_id = '', coalesce(campaigns.campaign_external_id, ''),
                both_sides.campaign_external_id))
        as campaign_external_id,
    toString(if(both_sides.campaign_id = 0, '(unknown campaign)', campaigns.campaign_name)) as campaign_name,
    toString(if(both_sides.campaign_id = 0, 'unknown', campaigns.channel)) as channel,
    toString(both_sides.platform) as platform,
    toString(both_sides.currency) as currency,
    toDecimal128(both_sides.crm_amount, 2) as crm_amount,
    toDecimal128(both_sides.platform_amount, 2) as platform_amount,
    {{ to_reporting('both_sides.crm_amount', 'both_sides.currency', 'fx.rate_to_reporting', 'fx.has_rate') }}
        as crm_amount_reporting,
    {{ to_reporting('both_sides.platform_amount', 'both_sides.currency', 'fx.rate_to_reporting', 'fx.has_rate') }}
        as platform_amount_reporting,
    toBool(both_sides.in_crm) as in_crm,
    toBool(both_sides.at_platform) as at_platform,
    toBool(both_sides.in_crm and both_sides.at_platform and both_sides.crm_amount = both_sides.platform_amount)
        as is_reconciled
from both_sides
left join campaigns on campaigns.campaign_id = both_sides.campaign_id
asof left join fx on fx.currency = both_sides.currency and fx.rate_date <= both_sides.day
