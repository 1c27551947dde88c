{#- Local calendar date / wall-clock time of a UTC timestamp in a time zone held in a column.
    ClickHouse accepts only a constant time zone per expression, so this expands to one branch per zone
    in var('time_zones'); a zone missing from the list falls back to UTC (and fails the accepted_values
    test on the time zone column). -#}
{% macro local_date(ts, tz_column) -%}
    multiIf(
    {%- for tz in var('time_zones') %}
        {{ tz_column }} = '{{ tz }}', toDate({{ ts }}, '{{ tz }}'),
    {%- endfor %}
        toDate({{ ts }}, 'UTC'))
{%- endmacro %}

{% macro local_datetime(ts, tz_column) -%}
    multiIf(
    {%- for tz in var('time_zones') %}
        {{ tz_column }} = '{{ tz }}', toDateTime(toTimeZone({{ ts }}, '{{ tz }}'), 'UTC'),
    {%- endfor %}
        toDateTime({{ ts }}, 'UTC'))
{%- endmacro %}

{#- Date of a UTC timestamp in the company time zone (calls, leads, marketing). -#}
{% macro company_date(ts) -%}
    toDate({{ ts }}, '{{ var("company_time_zone") }}')
{%- endmacro %}
