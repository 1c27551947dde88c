{#- Views are re-created only when their definition changed.

    dbt-clickhouse's view materialization runs CREATE OR REPLACE VIEW on every run. A view's data needs no
    refresh (it is a stored query), so this one records a hash of what it would create (the compiled SQL and
    the settings that shape the DDL) in the view's comment and, when the existing view carries the same hash,
    only looks it up. `--full-refresh` always re-creates. Grants and hooks run as usual either way.
    (Overriding a built-in materialization needs the project flag
    require_explicit_package_overrides_for_builtin_materializations: false, set in dbt_project.yml.) -#}

{% materialization view, adapter='clickhouse' -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set grant_config = config.get('grants') -%}
    {%- set definition_hash = 'pulse-view-sha:' ~ local_md5(sql ~ '|' ~ (config.get('sql_security') or '')
                                                           ~ '|' ~ (config.get('definer') or '')
                                                           ~ '|' ~ (config.get('contract').enforced | string)) -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- set unchanged = false -%}
    {%- if existing_relation is not none and existing_relation.is_view and not flags.FULL_REFRESH -%}
        {%- call statement('main', fetch_result=True) -%}
            select comment from system.tables
            where database = '{{ target_relation.schema }}' and name = '{{ target_relation.identifier }}'
        {%- endcall -%}
        {%- set found = load_result('main')['table'].rows -%}
        {%- set unchanged = found | length > 0 and found[0][0] == definition_hash -%}
    {%- endif -%}

    {%- if unchanged -%}
        {{ log('View ' ~ target_relation ~ ' unchanged, kept') }}
    {%- else -%}
        {%- if existing_relation is not none -%}
            {{ clickhouse__drop_associated_mv_if_it_was_automatically_created(target_relation) }}
            {%- if not adapter.supports_atomic_exchange() -%}
                {{ drop_relation_if_exists(existing_relation) }}
            {%- endif -%}
        {%- endif -%}
        {% call statement('main') -%}
            {{ get_create_view_as_sql(target_relation, sql) }}
            comment '{{ definition_hash }}'
        {%- endcall %}
    {%- endif -%}

    {% set should_revoke = should_revoke(existing_relation, full_refresh_mode=True) %}
    {% do apply_grants(target_relation, grant_config, should_revoke=should_revoke) %}
    {% do persist_docs(target_relation, model) %}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}
{%- endmaterialization %}
