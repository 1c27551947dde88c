{#- dbt-clickhouse's delete+insert step for a fact with a change log, in five statements:
      1. the batch (the model's SQL) into a new-data table;
      2. the rows the batch replaces (the fact's rows with its keys) into an old-data table: the one scan of the fact;
      3. the change log, in one INSERT (-1 old versions, +1 new ones);
      4. DELETE of exactly the old rows, by the fact's sorting key within their partitions (the primary index finds
         them; a patch part when the table has block number and offset columns), skipped when the batch only
         brought new keys;
      5. INSERT of the batch's live rows (a tombstone only deletes, so delete_tombstones() finds nothing to do).
    Facts without a change log (and distributed tables) use the adapter's own macro unchanged. -#}
{% macro clickhouse__incremental_delete_insert(existing_relation, unique_key, incremental_predicates, is_distributed=False) %}
    {%- if is_distributed or not model_meta('change_log') or incremental_predicates -%}
        {%- do return(dbt.clickhouse__incremental_delete_insert(existing_relation, unique_key, incremental_predicates,
                                                                 is_distributed)) -%}
    {%- endif -%}
    {%- set suffix = '__dbt_' ~ invocation_id.replace('-', '_') -%}
    {%- set new_data = existing_relation.incorporate(path={"identifier": existing_relation.identifier ~ suffix ~ '_new'}) -%}
    {%- set old_data = existing_relation.incorporate(path={"identifier": existing_relation.identifier ~ suffix ~ '_old'}) -%}
    {%- set changes = change_log_relation(existing_relation) -%}
    {%- set sorting_key = config.get('order_by') -%}
    {%- set partition_key = config.get('partition_by') -%}
    {#- no DROP IF EXISTS first: the work tables' names carry this invocation's id -#}
    {%- set new_data_sql = work_table_sql(new_data, sql) -%}
    {% call statement('main') %}
        {{ new_data_sql[0] }}
    {% endcall %}
    {%- for statement_sql in new_data_sql[1:] %}{% do run_query(statement_sql) %}{% endfor %}
    {%- set replaced_rows -%}
        select * from {{ existing_relation }}
        where {{ unique_key }} in (select {{ unique_key }} from {{ new_data }})
    {%- endset -%}
    {%- for statement_sql in work_table_sql(old_data, replaced_rows) %}{% do run_query(statement_sql) %}{% endfor %}

    {%- do ensure_change_log(existing_relation, unique_key) -%}
    {%- set names = adapter.get_columns_in_relation(existing_relation) | map(attribute='name') | list -%}
    {%- set columns = [] -%}
    {%- set old_columns = [] -%}
    {%- for name in names -%}
        {%- do columns.append(adapter.quote(name)) -%}
        {#- a -1 row carries the version that replaces it, so it is read together with it -#}
        {%- do old_columns.append('new._change_seq' if name == '_change_seq' else 'old.' ~ adapter.quote(name)) -%}
    {%- endfor -%}
    {% call statement('write_change_log') %}
        insert into {{ changes }} ({{ columns | join(', ') }}, _sign, _old_change_seq, _logged_at)
        select {{ old_columns | join(', ') }}, toInt8(-1), old._change_seq, now64(3, 'UTC')
        from {{ old_data }} as old
        inner join (select {{ unique_key }}, _change_seq from {{ new_data }}) as new
            on new.{{ unique_key }} = old.{{ unique_key }}
        where old._change_seq < new._change_seq
        union all
        select {{ columns | join(', ') }}, toInt8(1), toUInt64(0), now64(3, 'UTC')
        from {{ new_data }}
        where _is_deleted = 0
            and ({{ unique_key }}, _change_seq) not in (select {{ unique_key }}, _change_seq from {{ old_data }})
        settings max_insert_threads = 1
    {% endcall %}

    {%- if run_query('select count() from ' ~ old_data).rows[0][0] > 0 %}
    {%- set table_settings = config.get('settings', {}) %}
    {% call statement('delete_existing_data') %}
        delete from {{ existing_relation }}
        where {{ sorting_key }} in (select {{ sorting_key }} from {{ old_data }})
            and {{ unique_key }} in (select {{ unique_key }} from {{ old_data }})
        {%- if partition_key %}
            and {{ partition_key }} in (select {{ partition_key }} from {{ old_data }})
        {%- endif %}
        {%- if table_settings.get('enable_block_number_column') and table_settings.get('enable_block_offset_column') %}
        {#- a patch part marking the rows deleted, found through the primary index (no mutation of every part) #}
        settings lightweight_delete_mode = 'lightweight_update_force'
        {%- endif %}
    {% endcall %}
    {%- endif %}
    {% call statement('insert_new_data') %}
        insert into {{ existing_relation }} select {{ columns | join(', ') }} from {{ new_data }} where _is_deleted = 0
        {{ adapter.get_model_query_settings(model) }}
    {% endcall %}
    {% do adapter.drop_relation(new_data) %}
    {% do adapter.drop_relation(old_data) %}
{% endmacro %}
