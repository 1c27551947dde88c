{#- Local calendar date of a UTC timestamp in the IANA time zone held in a column, for any zone.
    ClickHouse takes a time zone only as a constant, so this expands to one branch per zone: the zones that
    `zones_from` (a relation with a time_zone column, e.g. ref('dim_machines')) holds when the model is compiled,
    which dbt does just before it runs the model. No list to maintain: a hospital in a zone nobody named gets its
    own branch on the next build. Each branch is ClickHouse's own conversion, so DST transitions are exact; a zone
    the warehouse's tz database does not know gets no branch and falls back to UTC, and the `iana_time_zone` test
    on the zone column fails. -#}
{% macro local_date(ts, tz_column, zones_from) -%}
    {%- set zones = time_zones_in(zones_from) -%}
    {%- if zones | length == 0 -%}
    toDate({{ ts }}, 'UTC')
    {%- else -%}
    multiIf(
    {%- for tz in zones %}
        {{ tz_column }} = '{{ tz }}', toDate({{ ts }}, '{{ tz }}'),
    {%- endfor %}
        toDate({{ ts }}, 'UTC'))
    {%- endif -%}
{%- endmacro %}

{#- The distinct time zones of `relation`.time_zone that the warehouse knows (system.time_zones), read at compile
    time; none while parsing or before the relation exists. Known names only, so each is safe to quote in SQL. -#}
{% macro time_zones_in(relation) -%}
    {%- if not execute or load_relation(relation) is none -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set found = run_query(
        "select distinct time_zone from " ~ relation
        ~ " where time_zone in (select time_zone from system.time_zones) order by time_zone"
    ) -%}
    {{ return(found.columns[0].values() | list) }}
{%- endmacro %}

{#- Date of a UTC timestamp in the company time zone (calls, leads, marketing). -#}
{% macro company_date(ts) -%}
    toDate({{ ts }}, '{{ var("company_time_zone") }}')
{%- endmacro %}
