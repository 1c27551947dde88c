"""A self-managed ClickHouse cluster is one setting: PULSE_CLICKHOUSE_CLUSTER.

With it, every database and table Pulse creates (the extractors' raw, feed and bookkeeping tables, dbt's build
marks) and every table dbt creates (models, the project's own marks, change logs and work tables) is created
ON CLUSTER with the Replicated variant of its engine; without it, the statements are the single-server ones.
The embedded warehouse (chdb) cannot host Replicated tables (no Keeper), but its parser is ClickHouse's:
`formatQuery` proves each statement is valid ClickHouse SQL, and shows how ClickHouse reads it.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from extractors.feeds import tables_ddl as feed_tables_ddl
from extractors.load import Watermarks, operational_tables
from extractors.raw_schema import RAW_DATABASE
from pulse.core.settings import Settings
from pulse.dbt.runner import PROJECT_DIR, dbt_env, dbt_executable, marks_table_ddl
from tests.conftest import REPO, WarehouseProcess, free_port
from warehouse.ddl import WarehouseDDL

pytestmark = pytest.mark.xdist_group("cluster_ddl")

CLUSTER = "pulse"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WarehouseProcess]:
    home = tmp_path_factory.mktemp("cluster-ddl")
    process = WarehouseProcess(home=home, port=free_port()).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def client(server: WarehouseProcess) -> Iterator[Client]:
    connection = server.client()
    yield connection
    connection.close()


def formatted(client: Client, statement: str) -> str:
    """ClickHouse's own reading of `statement` (raises if it is not valid SQL), on one line."""
    text = client.query("SELECT formatQuery({q:String})", parameters={"q": statement}).result_rows[0][0]
    return " ".join(str(text).split())


def pulse_ddl(ddl: WarehouseDDL) -> list[str]:
    """Every statement Pulse's own code creates, alters, swaps or drops warehouse tables with."""
    statements = [*Watermarks.tables_ddl(ddl), *feed_tables_ddl(ddl), *marks_table_ddl(ddl)]
    for table in operational_tables():
        side = f"{RAW_DATABASE}.`{table.name}__refresh`"
        statements += [
            table.create_sql(ddl=ddl),
            # a copy by the warehouse holds merges of its target until it is done
            ddl.stop_merges(side),
            ddl.start_merges(table.qualified),
            # a full refresh (extractors/load.py): side table, swap, drop; a new column
            ddl.drop_table(side, if_exists=True),
            table.create_sql(f"{table.name}__refresh", ddl),
            *ddl.sync_replica(side),
            ddl.exchange_tables(table.qualified, side),
            ddl.drop_table(side),
            ddl.alter_table(table.qualified, f"ADD COLUMN IF NOT EXISTS `x` {table.columns[-1].clickhouse_type} FIRST"),
        ]
    return statements


def test_one_server_keeps_each_statement_and_a_cluster_replicates_it() -> None:
    one, cluster = WarehouseDDL(), WarehouseDDL(CLUSTER)
    assert one.engine("ReplacingMergeTree(_change_seq)") == "ReplacingMergeTree(_change_seq)"
    assert one.on_cluster == one.table_settings == ""
    assert one.create_database("raw") == "CREATE DATABASE IF NOT EXISTS raw"
    assert one.drop_table("raw.`t`", if_exists=True) == "DROP TABLE IF EXISTS raw.`t`"
    assert one.exchange_tables("raw.a", "raw.b") == "EXCHANGE TABLES raw.a AND raw.b"
    assert one.alter_table("raw.a", "ADD COLUMN c UInt8") == "ALTER TABLE raw.a ADD COLUMN c UInt8"
    assert one.sync_replica("raw.b") == []
    assert one.stop_merges("raw.b") == "SYSTEM STOP MERGES raw.b"

    # The engine keeps its own arguments and gets no Keeper path: the servers' defaults fill it in.
    assert cluster.engine("ReplacingMergeTree(_change_seq)") == "ReplicatedReplacingMergeTree(_change_seq)"
    assert cluster.engine("MergeTree") == "ReplicatedMergeTree"
    assert cluster.engine("ReplicatedMergeTree") == "ReplicatedMergeTree"
    assert cluster.table_settings == " SETTINGS replicated_deduplication_window = 0"
    assert cluster.create_database("raw") == "CREATE DATABASE IF NOT EXISTS raw ON CLUSTER 'pulse'"
    assert cluster.drop_table("raw.`t`") == "DROP TABLE raw.`t` ON CLUSTER 'pulse'"
    assert cluster.exchange_tables("raw.a", "raw.b") == "EXCHANGE TABLES raw.a AND raw.b ON CLUSTER 'pulse'"
    assert cluster.sync_replica("raw.b") == ["SYSTEM SYNC REPLICA ON CLUSTER 'pulse' raw.b"]
    assert cluster.start_merges("raw.b") == "SYSTEM START MERGES ON CLUSTER 'pulse' raw.b"
    assert (
        cluster.alter_table("raw.a", "ADD COLUMN c UInt8") == "ALTER TABLE raw.a ON CLUSTER 'pulse' ADD COLUMN c UInt8"
    )
    with pytest.raises(ValueError, match="no Replicated variant"):
        cluster.engine("Memory")


def test_the_setting_chooses_the_ddl_and_reaches_dbt(tmp_path: Path) -> None:
    assert WarehouseDDL.from_settings(Settings(home=tmp_path)).cluster is None
    assert WarehouseDDL.from_settings(Settings(home=tmp_path, clickhouse_cluster=" pulse ")).cluster == CLUSTER
    assert WarehouseDDL.from_settings(Settings(home=tmp_path, clickhouse_cluster="")).cluster is None
    assert dbt_env(Settings(home=tmp_path, clickhouse_cluster=CLUSTER))["PULSE_CLICKHOUSE_CLUSTER"] == CLUSTER
    assert dbt_env(Settings(home=tmp_path))["PULSE_CLICKHOUSE_CLUSTER"] == ""
    with pytest.raises(ValueError, match="not a cluster name"):
        Settings(home=tmp_path, clickhouse_cluster="pulse' SETTINGS x=1")


def test_every_table_pulse_creates_is_replicated_on_the_cluster(client: Client) -> None:
    statements = pulse_ddl(WarehouseDDL(CLUSTER))
    assert len(statements) > 7 * len(operational_tables())
    for statement in statements:
        text = formatted(client, statement)
        assert f" ON CLUSTER {CLUSTER}" in text, text
        if text.startswith("CREATE TABLE"):
            assert re.search(r"ENGINE = Replicated\w*MergeTree\b", text), text
            # a batch sent again after a failure is written again (and collapsed), as on one server
            assert "SETTINGS replicated_deduplication_window = 0" in text, text
    # The raw tables keep their version column: ReplacingMergeTree's argument, not a Keeper path.
    raw = formatted(client, operational_tables()[0].create_sql(ddl=WarehouseDDL(CLUSTER)))
    assert "ENGINE = ReplicatedReplacingMergeTree(_change_seq)" in raw


def test_on_one_server_nothing_is_replicated_and_every_table_is_created(client: Client) -> None:
    statements = pulse_ddl(WarehouseDDL())
    for statement in statements:
        text = formatted(client, statement)
        assert "CLUSTER" not in text and "Replicated" not in text, text
    # The CREATE statements are the ones the embedded warehouse runs: they create the tables.
    for statement in statements:
        if statement.startswith("CREATE"):
            client.command(statement)
    rows = client.query(
        "SELECT name, engine FROM system.tables WHERE database = {d:String}", parameters={"d": RAW_DATABASE}
    ).result_rows
    engines = {str(name): str(engine) for name, engine in rows}
    assert engines["_pulse_watermarks"] == "MergeTree"
    assert engines[operational_tables()[0].name] == "ReplacingMergeTree"


def test_pulse_code_names_no_engine_outside_the_ddl_helper() -> None:
    """A table created with a literal engine (or a literal CREATE DATABASE, DROP or EXCHANGE) would stay
    unreplicated, or on one server only, on a cluster: Pulse's warehouse DDL goes through warehouse/ddl.py."""
    literal = re.compile(r"(?i:\bengine\s*=\s*)\w*MergeTree|(?i:create database|drop table|exchange tables)")
    exempt = {REPO / "warehouse" / "ddl.py"}
    offenders = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for folder in ("extractors", "pulse", "reports", "warehouse")
        for path in sorted((REPO / folder).rglob("*.py"))
        if path not in exempt
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if literal.search(line) and not line.lstrip().startswith("#")
    ]
    assert not offenders, "use warehouse.ddl.WarehouseDDL for these:\n" + "\n".join(offenders)


# -- dbt ---------------------------------------------------------------------------------------------------------
# What the project's own macros create (macros/test_windows.sql, macros/change_log.sql), rendered by dbt itself.
PROJECT_DDL = (
    "{%- set changes = api.Relation.create(schema='analytics', identifier='fct_x__changes', type='table') -%}"
    "{%- set fact = api.Relation.create(schema='marts', identifier='fct_x', type='table') -%}"
    "{%- set work = api.Relation.create(schema='marts', identifier='fct_x__dbt_new', type='table') -%}"
    "{{ (test_marks_ddl() + change_log_ddl(changes, fact, 'x_id', 'generation:1')"
    " + work_table_sql(work, 'select 1 as x_id')) | join(';;\\n') }}"
)


def dbt_project_ddl(server: WarehouseProcess, home: Path, cluster: str | None) -> tuple[list[str], dict[str, str]]:
    """The project's own DDL as dbt renders it, and the engine of every table and incremental model."""
    settings = Settings(home=home, clickhouse_url=server.admin_url, clickhouse_cluster=cluster)
    # --no-populate-cache: dbt-clickhouse lists relations across the cluster (clusterAllReplicas) otherwise.
    result = subprocess.run(
        [dbt_executable(), "--quiet", "--no-populate-cache", "compile", "--inline", PROJECT_DDL],
        env=dbt_env(settings), cwd=PROJECT_DIR, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((home / "dbt" / "target" / "manifest.json").read_text())
    engines = {
        node["name"]: node["config"]["engine"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["materialized"] in ("table", "incremental")
    }
    return [s.strip() for s in result.stdout.strip().split(";;\n")], engines


def test_dbt_builds_replicated_tables_on_the_cluster_and_plain_ones_on_one_server(
    server: WarehouseProcess, client: Client, tmp_path: Path
) -> None:
    # The profile's schema must exist: dbt-clickhouse would create it ON CLUSTER, which needs a real cluster.
    client.command("CREATE DATABASE IF NOT EXISTS analytics")
    on_cluster, cluster_engines = dbt_project_ddl(server, tmp_path / "cluster", CLUSTER)
    one_server, engines = dbt_project_ddl(server, tmp_path / "one", None)

    assert len(on_cluster) == len(one_server) + 1 == 8  # the work table is filled by its own INSERT
    for statement in on_cluster:
        text = formatted(client, statement)
        if not text.startswith("INSERT"):
            assert f" ON CLUSTER {CLUSTER}" in text, text
        if text.startswith("CREATE TABLE"):
            assert re.search(r"ENGINE = Replicated\w*MergeTree\b", text), text
    for statement in one_server:
        text = formatted(client, statement)
        assert "CLUSTER" not in text and "Replicated" not in text, text

    assert len(engines) > 20 and set(engines) == set(cluster_engines)
    assert engines["fct_vend_transactions"] == "MergeTree()"  # as dbt-clickhouse's default, and as before
    assert engines["int_vend_daily_versions"] == "ReplacingMergeTree(_applied_through)"
    for model, engine in engines.items():
        assert not engine.startswith("Replicated"), model
        assert cluster_engines[model] == "Replicated" + engine, model
