{% macro assert_created_columns_match_contract(relation) -%}
    {%- set yaml_columns = model['columns'].values() | list -%}
    {%- set created = adapter.format_columns(adapter.get_columns_in_relation(relation)) -%}
    {%- set expected = {} -%}
    {%- for column in yaml_columns -%}{%- do expected.update({column['name']: column['data_type']}) -%}{%- endfor -%}
    {%- set found = {} -%}
    {%- for column in created -%}{%- do found.update({column['name']: column['data_type']}) -%}{%- endfor -%}
    {%- if found != expected -%}
        {%- do adapter.drop_relation(relation) -%}
        {%- do exceptions.raise_contract_error(yaml_columns, created) -%}
    {%- endif -%}
{%- endmacro %}
