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
