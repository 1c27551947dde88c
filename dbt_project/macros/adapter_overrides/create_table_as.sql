{#- A table with an enforced contract, built with one reading of its query.

    dbt-clickhouse checks a contract by running `SELECT * FROM (<model>) LIMIT 0` for the query's columns, then
    creates the table from the YAML's columns and fills it with an INSERT ... SELECT. On ClickHouse the LIMIT 0
    query costs about what the model does (every join's right side is built, scalar subqueries run), so each
    contracted mart paid for its query twice: a third of an hourly build. Here the table is created by one
    CREATE TABLE ... AS SELECT, and the contract is checked on what was created (its columns, from system.columns):
    same names and same types as the YAML, or the new table is dropped and dbt's contract error is raised, before
    the materialization swaps anything in. Column order follows the query (contracts compare columns by name).
    Temporary tables, models without a contract, models with projections or indexes and clusters (where a CREATE
    ... AS SELECT ON CLUSTER would run the query on every replica) keep the adapter's own path. -#}

{% macro clickhouse__create_table_as(temporary, relation, sql) -%}
    {%- set contract = config.get('contract') -%}
    {%- if temporary or not contract.enforced or target.cluster
          or config.get('projections') or config.get('indexes') or config.get('sql_header') -%}
        {{ return(dbt.clickhouse__create_table_as(temporary, relation, sql)) }}
    {%- endif -%}
    {% call statement('create_table_as') %}
        create table {{ relation }}
        {{ engine_clause() }}
        {{ order_cols(label="order by") }}
        {{ primary_key_clause(label="primary key") }}
        {{ partition_cols(label="partition by") }}
        {{ ttl_config(label="ttl") }}
        {{ adapter.get_model_settings(model, config.get('engine', default='MergeTree')) }}
        as {{ sql }}
        {{ adapter.get_model_query_settings(model) }}
    {% endcall %}
    {%- do assert_created_columns_match_contract(relation) -%}
    {#- the materialization runs what this returns as its `main` statement: the table is already built -#}
    select 1
{%- endmacro %}
