{#- The rows an incremental fact must (re)write, read from the staging of its raw table (renamed there, once):
    `latest` is stg_<table> (the latest live version of each key), `versions` is stg_<table>_versions (every version,
    tombstones included); `key` is the fact's unique_key, the staging models' key column.

    Full build: `latest` (FINAL, tombstones dropped), with _is_deleted = 0.
    Incremental run: the latest version of every key changed since the fact's high-water mark
    (its max(_change_seq)), tombstones included, from `versions`: a view with no FINAL, so the filter on
    _change_seq reaches the raw table as its PREWHERE, as if the fact read raw itself. The delete+insert strategy
    deletes those keys from the fact and inserts the batch; the post-hook `delete_tombstones()` then removes the
    tombstones, so updated rows are replaced and deleted rows disappear, exactly as a full rebuild would have them.

    Versions newer than the mark all have _change_seq > mark, so the newest of them is the key's
    newest version overall: no FINAL over the whole raw table is needed.

    Both relations are passed in (`ref()` in the model's call) so that dbt sees both dependencies when it parses
    the model, where only the full-build branch renders.

    `new_columns`: columns the fact gained. A deployed table that lacks one of them (relation_lacks_columns) gets
    every key's latest version, tombstones included, once (with on_schema_change='append_new_columns' adding the
    columns first), so old rows are filled as a full rebuild would fill them. -#}
{% macro latest_versions(latest, versions, key=none, new_columns=[]) -%}
    {%- set key = key or config.get('unique_key') -%}
    {%- if new_columns and relation_lacks_columns(this, new_columns) -%}
    select *
    from {{ versions }}
    order by _change_seq desc
    limit 1 by {{ key }}
    {%- elif is_incremental() -%}
    select *
    from {{ versions }}
    where _change_seq > {{ high_water_mark(this) }}
    order by _change_seq desc
    limit 1 by {{ key }}
    {%- else -%}
    select *, toUInt8(0) as _is_deleted
    from {{ latest }}
    {%- endif -%}
{%- endmacro %}

{#- A lightweight DELETE is a mutation over every part even when nothing matches (seconds on a large fact):
    it runs only when the batch brought tombstones (only an incremental batch can). A fact with a change log never
    inserts tombstones (macros/change_log.sql deletes what they replace), so it skips even the check. -#}
{% macro delete_tombstones() -%}
    {%- if execute and is_incremental() and not model_meta('change_log')
          and run_query('select 1 from ' ~ this ~ ' where _is_deleted = 1 limit 1').rows | length > 0 -%}
    delete from {{ this }} where _is_deleted = 1
    {%- endif -%}
{%- endmacro %}


{#- The fact's max(_change_seq). A fact with a change log and a minmax index on _change_seq reads it from the few
    granules at or above the newest version its log says it inserted (always at most the fact's max, unless that
    version was replaced since, or the log is empty; then, as for other facts, it scans the column). -#}
{% macro high_water_mark(relation) -%}
    {%- if execute and model_meta('change_log') -%}
        {%- set changes = change_log_relation(relation) -%}
        {%- if load_relation(changes) is not none -%}
            {%- set floor = run_query('select max(_change_seq) from ' ~ changes ~ ' where _sign = 1').rows[0][0] -%}
            {#- an empty log (the fact was just rebuilt) gives no floor: scan the column, as below -#}
            {%- if floor -%}
                {%- set found = run_query('select max(_change_seq), count() from ' ~ relation
                                          ~ ' where _change_seq >= ' ~ floor).rows[0] -%}
                {%- if found[1] > 0 -%}{{ return(found[0]) }}{%- endif -%}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    {{ return('(select coalesce(max(_change_seq), 0) from ' ~ relation ~ ')') }}
{%- endmacro %}

{#- True when `relation` (an incremental model's own table, at run time) exists and lacks one of `columns`. A fact that
    gained columns passes them to latest_versions(new_columns=...): a deployed table lacking them rewrites every row
    once instead of only the changed ones (with on_schema_change='append_new_columns' adding the columns first), so
    it gains the new columns filled for all its rows, as a full rebuild would, without anybody having to remember a
    --full-refresh. -#}
{% macro relation_lacks_columns(relation, columns) -%}
    {%- if not execute or not is_incremental() -%}{{ return(false) }}{%- endif -%}
    {%- set existing = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
    {%- for column in columns -%}
        {%- if column not in existing -%}{{ return(true) }}{%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}
