-- Rates to the reporting currency, one row per (currency, rate date), for ASOF joins: the rate of a day is the most
-- recent rate published on or before it. The operational table's rates quoted in the reporting currency come
-- first. The central bank's FX feed (rates to RUB) fills any day they lack, crossed through RUB when the business
-- reports in another currency: EUR->USD = EUR->RUB / USD->RUB of the same day. The reporting currency itself is a
-- constant 1 from the start of time.
{%- set reporting = var("reporting_currency") %}
with operational as (
    select
        base_currency as currency,
        day as rate_date,
        toDecimal64(rate, 8) as rate_to_reporting,
        'operational' as rate_source
    from {{ ref('stg_fx_rates') }}
    where quote_currency = '{{ reporting }}'
),

feed_to_rub as (
    select currency, rate_date, toDecimal64(rate_to_rub, 8) as rate_to_rub from {{ ref('stg_feed_fx') }}
    union all
    select 'RUB', rate_date, toDecimal64(1, 8) from {{ ref('stg_feed_fx') }} group by rate_date
),

feed as (
    select
        quoted.currency as currency,
        quoted.rate_date as rate_date,
        toDecimal64(quoted.rate_to_rub / reporting.rate_to_rub, 8) as rate_to_reporting,
        'feed' as rate_source
    from feed_to_rub as quoted
    inner join feed_to_rub as reporting
        on reporting.rate_date = quoted.rate_date and reporting.currency = '{{ reporting }}'
    where quoted.currency != '{{ reporting }}'
      and (quoted.currency, quoted.rate_date) not in (select currency, rate_date from operational)
),

reporting as (
    select
        '{{ reporting }}' as currency,
        toDate32('1970-01-01') as rate_date,
        toDecimal64(1, 8) as rate_to_reporting,
        'identity' as rate_source
)

select currency, toDate32(rate_date) as rate_date, rate_to_reporting, rate_source, toUInt8(1) as has_rate
from operational
union all
select currency, toDate32(rate_date), rate_to_reporting, rate_source, toUInt8(1) from feed
union all
select currency, rate_date, rate_to_reporting, rate_source, toUInt8(1) from reporting
