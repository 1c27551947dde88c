{#- dbt's should_full_refresh, plus: a change-log consumer that cannot follow the log rebuilds itself. -#}
{% macro should_full_refresh() %}
    {%- set full_refresh = config.get('full_refresh') -%}
    {%- if full_refresh is none -%}{%- set full_refresh = flags.FULL_REFRESH -%}{%- endif -%}
    {%- set spec = change_log_consumer_spec() -%}
    {%- if not full_refresh and execute and spec is not none -%}
        {%- set full_refresh = not change_log_consumer_state()['incremental'] -%}
    {%- endif -%}
    {%- do return(full_refresh) -%}
{% endmacro %}
