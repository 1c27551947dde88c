-- Tag clock: depends on today's date, so the hourly build (pulse/dbt/runner.py) rebuilds it when the date changes.
{{ config(tags=['clock']) }}
-- One row per calendar day from var('calendar_start') to a year after today. Weeks start on the business's first day
-- of the week; fiscal years start in its fiscal_year_start_month and are named by the calendar year they end in.
{%- set fiscal_start = var("fiscal_year_start_month") | int %}
with days as (
    select toDate32('{{ var("calendar_start") }}') + number as date_day
    from numbers(toUInt64(dateDiff('day', toDate32('{{ var("calendar_start") }}'), today() + 366)))
)

select
    date_day,
    toStartOfMonth(date_day) as month_start,
    toStartOfWeek(date_day, {{ 0 if var('week_start') == 'sunday' else 1 }}) as week_start,
    toYear(date_day) as year,
    toQuarter(date_day) as quarter,
    toMonth(date_day) as month,
    toUInt16(toYear(date_day) + if({{ fiscal_start }} > 1 and toMonth(date_day) >= {{ fiscal_start }}, 1, 0)) as fiscal_year,
    toUInt8(intDiv((toMonth(date_day) + 12 - {{ fiscal_start }}) % 12, 3) + 1) as fiscal_quarter,
    toDayOfMonth(date_day) as day_of_month,
    toDayOfWeek(date_day) as day_of_week,
    toDayOfWeek(date_day) >= 6 as is_weekend,
    formatDateTime(date_day, '%Y-%m') as month_label,
    arrayElement(['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September',
                  'October', 'November', 'December'], toMonth(date_day)) as month_name_en,
    arrayElement(['Январь', 'Февраль', 'Март', 'Апрель', 'Май', 'Июнь', 'Июль', 'Август', 'Сентябрь',
                  'Октябрь', 'Ноябрь', 'Декабрь'], toMonth(date_day)) as month_name_ru
from days
