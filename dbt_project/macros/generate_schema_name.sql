{#- A model's +schema is the ClickHouse database it lives in (staging, intermediate, marts), as is:
    dbt's default would prefix the target schema ("analytics_staging"). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
