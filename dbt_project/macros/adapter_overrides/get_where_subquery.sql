{#- dbt's relation a generic test reads (`where` config), narrowed on incremental runs to the rows changed since
    the test last passed: the windowed data tests of macros/test_windows.sql. -#}
{% macro clickhouse__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set source_name = test_window_source(model) if execute and test_windows_enabled() else none -%}
    {%- set conditions = [] -%}
    {%- if where -%}{%- do conditions.append('(' ~ where ~ ')') -%}{%- endif -%}
    {%- if source_name -%}
        {%- set mark -%}
            (select coalesce(max(tested_through), 0) from {{ test_marks_table() }} where test_id = '{{ model.unique_id }}')
        {%- endset -%}
        {%- set parent = graph.nodes[model.attached_node] -%}
        {%- set window_key = parent.config.get('meta', {}).get('window_key') -%}
        {%- if window_key -%}
            {#- A staging view reads its raw table FINAL: a filter on _change_seq would make every test merge the
                whole table, a filter on the key (raw id, the sorting key) is pushed below FINAL to the index. -#}
            {%- do conditions.append(window_key ~ ' in (select id from ' ~ graph.sources[source_name].relation_name
                                     ~ ' where _change_seq > ' ~ mark ~ ')') -%}
        {%- elif model.test_metadata.name == 'unique' and model.column_name -%}
            {%- do conditions.append(model.column_name ~ ' in (select ' ~ model.column_name ~ ' from ' ~ relation
                                     ~ ' where _change_seq > ' ~ mark ~ ')') -%}
        {%- else -%}
            {%- do conditions.append('_change_seq > ' ~ mark) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
