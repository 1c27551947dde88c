{#- A self-managed ClickHouse cluster, from one setting (warehouse/ddl.py takes the same decision for Pulse's
    own tables; docs/production.md).

    PULSE_CLICKHOUSE_CLUSTER reaches dbt's profile as `cluster` (profiles.yml), and dbt-clickhouse then adds
    ON CLUSTER to the DDL it writes. It does not change engines: a plain MergeTree created ON CLUSTER is a
    separate, unreplicated table on every server. So every engine this project names goes through
    replicated_engine(): on a cluster the Replicated variant with the same arguments and no Keeper path or
    replica name (ClickHouse fills in default_replica_path and default_replica_name); on one server (profile
    `cluster` empty, the default) the engine exactly as written. dbt_project.yml gives models without an engine
    of their own the same choice for dbt-clickhouse's default, MergeTree(). -#}

{% macro replicated_engine(engine) -%}
    {{ return(('Replicated' ~ engine) if target.cluster and not engine.startswith('Replicated') else engine) }}
{%- endmacro %}

{#- ` on cluster "<name>"` for the DDL this project writes itself (run_query), or nothing on one server; quoted
    as dbt-clickhouse quotes it in its own ON CLUSTER. -#}
{% macro on_cluster() -%}
    {{ return((' on cluster "' ~ target.cluster ~ '"') if target.cluster else '') }}
{%- endmacro %}
