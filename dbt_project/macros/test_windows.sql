{#- Windowed data tests on incremental runs.

    A generic test on a model that carries `_change_seq` (staging views and incremental facts, whose rows are
    versions of raw rows) checks, on an incremental run, only the rows changed since that same test last
    passed: `_change_seq` above the test's mark. unique checks every row of the keys changed (so a new
    version duplicating an old key is still caught). A staging view with `meta: {window_key: <column>}` (the
    column holding raw `id`) is windowed by key instead: the keys with a raw version above the mark. A full
    build (`--full-refresh`) or `--vars '{full_tests: true}'` checks every row, and so does the first run of a
    test (no mark yet).

    Marks: at run start (`record_test_window_start`) the max `_change_seq` of every raw table is noted for
    the invocation (everything up to it is in staging, and in the facts once they ran); at run end
    (`record_test_window_passes`) each windowed test that passed gets that mark for its raw table. A failed,
    errored or unselected test keeps its old mark, so its rows are checked again next time. Marks live in
    `{{ target.schema }}` (not in the marts). What a window does not catch: an old child row whose parent is
    deleted later (relationships) - a full build checks that.
    The singular tests and tests on models without `_change_seq` (marts, dimensions, intermediate) always
    check everything. -#}

{% macro test_marks_table() -%}{{ target.schema }}.pulse_test_marks{%- endmacro %}
{% macro test_run_marks_table() -%}{{ target.schema }}.pulse_test_run_marks{%- endmacro %}

{#- The source (unique id) a model's `_change_seq` comes from, or none if the test is not windowed: the one raw table
    the model and the staging models it reads are built on (a fact reads stg_<table> and stg_<table>_versions, both
    over raw.<table>; intermediate models, e.g. the exchange rates a fact joins, carry no `_change_seq` of theirs). -#}
{% macro test_window_source(test_node) -%}
    {%- set attached = test_node.attached_node if test_node.attached_node is defined else none -%}
    {%- if not attached or attached not in graph.nodes -%}{{ return(none) }}{%- endif -%}
    {%- set parent = graph.nodes[attached] -%}
    {%- if '_change_seq' not in parent.columns -%}{{ return(none) }}{%- endif -%}
    {%- set sources = staged_sources(parent) -%}
    {%- if sources | length != 1 -%}{{ return(none) }}{%- endif -%}
    {{ return(sources[0]) }}
{%- endmacro %}

{#- The sources a node reads directly or through staging models (unique ids, each once). -#}
{% macro staged_sources(node, found=none) -%}
    {%- set found = [] if found is none else found -%}
    {%- for dependency in node.depends_on.nodes -%}
        {%- if dependency.startswith('source.') -%}
            {%- if dependency not in found -%}{%- do found.append(dependency) -%}{%- endif -%}
        {%- elif dependency in graph.nodes and graph.nodes[dependency].fqn[1:2] == ['staging'] -%}
            {%- do staged_sources(graph.nodes[dependency], found) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{% macro test_windows_enabled() -%}
    {{ return(not flags.FULL_REFRESH and not var('full_tests', false)) }}
{%- endmacro %}

{#- The statements that create the marks tables (ON CLUSTER, replicated, on a cluster: macros/cluster.sql). -#}
{% macro test_marks_ddl() -%}
    {{ return([
        'create database if not exists ' ~ target.schema ~ on_cluster(),
        'create table if not exists ' ~ test_marks_table() ~ on_cluster() ~ ' (test_id String, source String,'
        ~ ' tested_through UInt64, recorded_at DateTime64(3, \'UTC\') default now64(3))'
        ~ ' engine = ' ~ replicated_engine('ReplacingMergeTree(tested_through)') ~ ' order by test_id',
        'create table if not exists ' ~ test_run_marks_table() ~ on_cluster() ~ ' (invocation_id String,'
        ~ ' source String, mark UInt64, recorded_at DateTime64(3, \'UTC\') default now64(3))'
        ~ ' engine = ' ~ replicated_engine('MergeTree') ~ ' order by (invocation_id, source)'
        ~ ' ttl toDateTime(recorded_at) + interval 7 day',
    ]) }}
{%- endmacro %}

{#- on-run-start: the marks tables, and the max _change_seq of each raw table a selected windowed test reads. -#}
{#- Only commands that run tests keep marks (not compile, docs generate, run-operation). -#}
{% macro runs_tests() -%}
    {{ return(execute and flags.WHICH in ('build', 'test', 'retry')) }}
{%- endmacro %}

{% macro record_test_window_start() -%}
    {%- if runs_tests() -%}
        {%- set sources = [] -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'test' and node.unique_id in selected_resources -%}
            {%- set source_name = test_window_source(node) -%}
            {%- if source_name and source_name not in sources -%}{%- do sources.append(source_name) -%}{%- endif -%}
        {%- endfor -%}
        {#- one lookup instead of three DDL statements on every run once the tables exist -#}
        {%- set existing = run_query("select count() from system.tables where concat(database, '.', name) in ('"
                                     ~ test_marks_table() ~ "', '" ~ test_run_marks_table() ~ "')").rows[0][0] -%}
        {%- if existing < 2 -%}
            {%- for ddl_sql in test_marks_ddl() -%}{%- do run_query(ddl_sql) -%}{%- endfor -%}
        {%- endif -%}
        {%- if sources -%}
            {%- set parts = [] -%}
            {%- for s in sources -%}
                {%- do parts.append("select '" ~ s ~ "' as source, coalesce(max(_change_seq), 0) as mark from "
                                    ~ graph.sources[s].relation_name) -%}
            {%- endfor -%}
            {%- do run_query('insert into ' ~ test_run_marks_table() ~ " (invocation_id, source, mark) select '"
                             ~ invocation_id ~ "', source, mark from (" ~ parts | join(' union all ') ~ ')') -%}
        {%- endif -%}
    {%- endif -%}
    {#- renders nothing: its statements ran above, and dbt skips an empty hook -#}
{%- endmacro %}

{#- on-run-end: every windowed test that passed is checked through its raw table's mark of this run. -#}
{% macro record_test_window_passes(results) -%}
    {%- if runs_tests() -%}
        {%- set passed = [] -%}
        {%- for result in results if result.node.resource_type == 'test' and result.status == 'pass' -%}
            {%- set source_name = test_window_source(result.node) -%}
            {%- if source_name -%}
                {%- do passed.append("('" ~ result.node.unique_id ~ "', '" ~ source_name ~ "')") -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if passed -%}
            {%- do run_query('insert into ' ~ test_marks_table() ~ ' (test_id, source, tested_through)'
                             ~ ' select tupleElement(p.passed, 1), tupleElement(p.passed, 2), runs.mark'
                             ~ ' from (select arrayJoin([' ~ passed | join(', ') ~ ']) as passed) as p'
                             ~ ' inner join (select source, mark from ' ~ test_run_marks_table()
                             ~ " where invocation_id = '" ~ invocation_id ~ "') as runs"
                             ~ ' on runs.source = tupleElement(p.passed, 2)') -%}
        {%- endif -%}
    {%- endif -%}
    {#- renders nothing: its statements ran above, and dbt skips an empty hook -#}
{%- endmacro %}
