-- Rates to the reporting currency (RUB), one row per (currency, rate date), for ASOF joins: the rate of a day
-- is the most recent rate published on or before it. The operational table is the primary source; the
-- central bank's FX feed fills any day it lacks. RUB itself is a constant 1 from the start of time.
with operational as (
    select
        base_currency as currency,
        day as rate_date,
        toDecimal64(rate, 8) as rate_to_rub,
        'operational' as rate_source
    from {{ ref('stg_fx_rates') }}
    where quote_currency = '{{ var("reporting_currency") }}'
),

feed as (
    select
        currency,
        rate_date,
        toDecimal64(rate_to_rub, 8) as rate_to_rub,
        'feed' as rate_source
    from {{ ref('stg_feed_fx') }}
    where (currency, rate_date) not in (select currency, rate_date from operational)
),

reporting as (
    select
        '{{ var("reporting_currency") }}' as currency,
        toDate32('1970-01-01') as rate_date,
        toDecimal64(1, 8) as rate_to_rub,
        'identity' as rate_source
)

select currency, toDate32(rate_date) as rate_date, rate_to_rub, rate_source, toUInt8(1) as has_rate from operational
union all
select currency, toDate32(rate_date), rate_to_rub, rate_source, toUInt8(1) from feed
union all
select currency, rate_date, rate_to_rub, rate_source, toUInt8(1) from reporting
