{#- The rows an incremental fact must (re)write from a raw table.

    Full build: the latest live version of every key (FINAL, tombstones dropped), like staging.
    Incremental run: the latest version of every key changed since the fact's high-water mark
    (its max(_change_seq)), tombstones included. The delete+insert strategy deletes those keys from the
    fact and inserts the batch; the post-hook `delete_tombstones()` then removes the tombstones, so updated
    rows are replaced and deleted rows disappear, exactly as a full rebuild would have them.

    Versions newer than the mark all have _change_seq > mark, so the newest of them is the key's
    newest version overall: no FINAL over the whole raw table is needed. -#}
{% macro latest_versions(source_table, key='id') -%}
    {%- if is_incremental() -%}
    select *
    from {{ source_table }}
    where _change_seq > (select coalesce(max(_change_seq), 0) from {{ this }})
    order by _change_seq desc
    limit 1 by {{ key }}
    {%- else -%}
    select *
    from {{ source_table }} final
    where _is_deleted = 0
    {%- endif -%}
{%- endmacro %}

{#- A lightweight DELETE is a mutation over every part even when nothing matches (seconds on a large fact):
    it runs only when the batch brought tombstones (only an incremental batch can). A fact with a change log never
    inserts tombstones (macros/change_log.sql deletes what they replace), so it skips even the check. -#}
{% macro delete_tombstones() -%}
    {%- if execute and is_incremental() and not model_meta('change_log')
          and run_query('select 1 from ' ~ this ~ ' where _is_deleted = 1 limit 1').rows | length > 0 -%}
    delete from {{ this }} where _is_deleted = 1
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
