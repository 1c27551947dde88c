{#- Change logs: what an incremental fact changed, so aggregates downstream can follow it without rescanning it.

    A fact configured with `meta: {change_log: true}` (incremental, delete+insert on its key) writes, in every
    incremental run and before it replaces any row, one log row per changed version into
    `{{ target.schema }}.<fact>__changes`:
      _sign = -1: the version the fact held until now (a vend that moved day, month, machine or customer is
                  taken out where it was),
      _sign = +1: the version that replaces it (absent for a tombstone: a deleted row is only taken out).
    Both carry the new version's `_change_seq`, so a consumer reading `_change_seq` in (its mark, the log's
    max] sees each change whole. The log is written in one INSERT before the fact changes: if the run stops
    after it, the next run selects the same batch again and writes the same rows again, which the
    ReplacingMergeTree on (_change_seq, key, _sign) collapses (consumers read it FINAL); a key whose fact row
    is already the new version logs nothing, so a run stopped between the fact's DELETE and INSERT is
    repaired without double counting.

    The log belongs to one generation of the fact: its comment holds the fact table's UUID, which changes
    when the fact is rebuilt (`--full-refresh` builds a new table and exchanges it). A new generation starts
    an empty log, and consumers that followed the old one rebuild (see change_log_consumer_state). Rows
    expire after 14 days; a consumer that has not run for 7 days rebuilds instead of reading the log. -#}

{% macro change_log_relation(fact) -%}
    {{ return(api.Relation.create(schema=target.schema, identifier=fact.identifier ~ '__changes', type='table')) }}
{%- endmacro %}

{#- UUID of a table (changes when the table is rebuilt and exchanged), '' if it does not exist. -#}
{% macro table_generation(relation) -%}
    {%- set rows = run_query("select toString(uuid) from system.tables where database = '" ~ relation.schema
                             ~ "' and name = '" ~ relation.identifier ~ "'").rows -%}
    {{ return(rows[0][0] if rows | length > 0 else '') }}
{%- endmacro %}

{#- The statements that (re)create a fact's change log (ON CLUSTER, replicated, on a cluster: macros/cluster.sql). -#}
{% macro change_log_ddl(changes, fact, key, generation) -%}
    {{ return([
        'create database if not exists ' ~ changes.schema ~ on_cluster(),
        'drop table if exists ' ~ changes ~ on_cluster(),
        'create table ' ~ changes ~ on_cluster() ~ ' engine = ' ~ replicated_engine('ReplacingMergeTree')
        ~ ' order by (_change_seq, ' ~ key ~ ', _sign) ttl toDateTime(_logged_at) + interval 14 day'
        ~ " comment '" ~ generation ~ "' empty as select *, toInt8(0) as _sign,"
        ~ " toUInt64(0) as _old_change_seq, now64(3, 'UTC') as _logged_at from " ~ fact,
    ]) }}
{%- endmacro %}

{#- A batch's work table holding `select_sql`: on one server one CREATE ... AS SELECT into a plain MergeTree
    (none of the fact's indexes, projections or settings are needed for one batch). On a cluster it is
    replicated like the fact (the statements after it may reach any replica): created empty ON CLUSTER, then
    filled by one INSERT, since a CREATE ... AS SELECT ON CLUSTER would run the SELECT on every replica. -#}
{% macro work_table_sql(relation, select_sql) -%}
    {%- if not target.cluster -%}
        {{ return(['create table ' ~ relation ~ ' engine = MergeTree order by tuple() as ' ~ select_sql]) }}
    {%- endif -%}
    {{ return([
        'create table ' ~ relation ~ on_cluster() ~ ' engine = ' ~ replicated_engine('MergeTree')
        ~ ' order by tuple() empty as ' ~ select_sql,
        'insert into ' ~ relation ~ ' ' ~ select_sql,
    ]) }}
{%- endmacro %}

{#- (Re)create the fact's change log when it is missing or belongs to an earlier generation of the fact. -#}
{% macro ensure_change_log(fact, key) -%}
    {%- if execute -%}
        {%- set changes = change_log_relation(fact) -%}
        {%- set generation = 'generation:' ~ table_generation(fact) -%}
        {%- set found = run_query("select comment from system.tables where database = '" ~ changes.schema
                                  ~ "' and name = '" ~ changes.identifier ~ "'").rows -%}
        {%- if found | length == 0 or found[0][0] != generation -%}
            {%- for ddl_sql in change_log_ddl(changes, fact, key, generation) -%}
                {%- do run_query(ddl_sql) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endif -%}
    {#- renders nothing: dbt skips an empty hook -#}
{%- endmacro %}

{#- Post-hook of a fact with a change log: a rebuilt fact (new table) starts a new, empty log. -#}
{% macro change_log_post_hook() -%}
    {%- if model_meta('change_log') -%}
        {{ ensure_change_log(this, config.get('unique_key')) }}
    {%- endif -%}
{%- endmacro %}

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
