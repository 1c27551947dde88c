-- Tag clock: depends on today's date, so the hourly build (pulse/dbt/runner.py) rebuilds it when the date changes.
{{ config(tags=['clock']) }}
-- One row per calendar day from var('calendar_start') to a year after today.
with days as (
    select toDate32('{{ var("calendar_start") }}') + number as date_day
    from numbers(toUInt64(dateDiff('day', toDate32('{{ var("calendar_start") }}'), today() + 366)))
)

select
    date_day,
    toStartOfMonth(date_day) as month_start,
    toStartOfWeek(date_day, 1) as week_start,
    toYear(date_day) as year,
    toQuarter(date_day) as quarter,
    toMonth(date_day) as month,
    toDayOfMonth(date_day) as day_of_month,
    toDayOfWeek(date_day) as day_of_week,
    toDayOfWeek(date_day) >= 6 as is_weekend,
    formatDateTime(date_day, '%Y-%m') as month_label,
    arrayElement(['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September',
                  'October', 'November', 'December'], toMonth(date_day)) as month_name_en,
    arrayElement(['Январь', 'Февраль', 'Март', 'Апрель', 'Май', 'Июнь', 'Июль', 'Август', 'Сентябрь',
                  'Октябрь', 'Ноябрь', 'Декабрь'], toMonth(date_day)) as month_name_ru
from days
