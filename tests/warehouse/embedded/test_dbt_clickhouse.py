"""dbt-core 1.11 + dbt-clickhouse 1.10 (unmodified, as a subprocess) build a project on a real warehouse process.

The fixture project (tests/warehouse/embedded/dbt_fixture/) has a seed, a source table the test owns, a view, two
tables, incremental models with the default, delete+insert and append strategies, a timestamp snapshot
and generic tests (unique, not_null, accepted_values, relationships). What this proves:
- `dbt build` succeeds twice on a fresh schema, every node and test passing both times;
- between the builds the source gets new events and corrected versions of old ones, and the second build is
  really incremental: rows the incremental models already had are kept as they were (a marker put on one
  survives), new rows arrive once, the unique-key strategies replace the corrected keys, append logs them;
- the snapshot holds two versions of each corrected event, exactly one of them current;
- `dbt docs generate` succeeds and its catalog describes the models' columns;
- dbt writes nothing into the fixture project (target and logs go to the test's tmp dir).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

PROJECT = Path(__file__).with_name("dbt_fixture")
DBT = REPO / ".venv" / "bin" / "dbt"
FIRST_EVENTS = 20
NEW_EVENTS = 5
CORRECTED = {3: (3, "purchase", decimal.Decimal("333.00")), 7: (2, "click", decimal.Decimal("777.00"))}
MARKER = decimal.Decimal("-1.00")  # put on event 1 in the models after the first build
MODELS = ["stg_events", "customers_dim", "events_default", "events_delete_insert", "events_append"]
MODELS += ["customer_revenue", "events_snapshot"]

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dbt_clickhouse")]


@dataclass
class DbtRuns:
    schema: str
    builds: list[subprocess.CompletedProcess[str]]
    run_results: list[dict[str, Any]]
    docs: subprocess.CompletedProcess[str]
    target: Path
    client: Any


def _dbt(args: list[str], env: dict[str, str], work: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(DBT),
            *args,
            "--profiles-dir",
            str(PROJECT),
            "--project-dir",
            str(PROJECT),
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _first_events() -> list[list[Any]]:
    start = dt.datetime(2024, 1, 1)
    kinds = ["view", "click", "purchase"]
    return [
        [i, (i - 1) % 5 + 1, kinds[(i - 1) % 3], decimal.Decimal(i * 10), start + dt.timedelta(minutes=i)]
        for i in range(1, FIRST_EVENTS + 1)
    ]


def _later_events() -> list[list[Any]]:
    start = dt.datetime(2024, 2, 1)
    new = [
        [i, (i - 1) % 5 + 1, "purchase", decimal.Decimal(1000 + i), start + dt.timedelta(seconds=i)]
        for i in range(FIRST_EVENTS + 1, FIRST_EVENTS + NEW_EVENTS + 1)
    ]
    corrected = [
        [event_id, customer, kind, amount, dt.datetime(2024, 2, 2) + dt.timedelta(seconds=event_id)]
        for event_id, (customer, kind, amount) in CORRECTED.items()
    ]
    return new + corrected


@pytest.fixture(scope="session")  # once per xdist worker, even if other modules' tests interleave
def dbt_runs(warehouse: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbtRuns]:
    assert DBT.exists(), f"{DBT} is missing: run `make install`"
    work = tmp_path_factory.mktemp("dbt")
    schema = f"dbt_{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "PULSE_DBT_HOST": "127.0.0.1",
        "PULSE_DBT_PORT": str(warehouse.port),
        "PULSE_DBT_PASSWORD": warehouse.admin_password,
        "PULSE_DBT_SCHEMA": schema,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_VERSION_CHECK": "false",
        "DBT_USE_COLORS": "false",
    }
    before = sorted(p.relative_to(PROJECT) for p in PROJECT.rglob("*"))
    client = warehouse.client(tz_mode="schema")
    client.command(f"CREATE DATABASE {schema}")
    client.command(
        f"CREATE TABLE {schema}.raw_events (event_id UInt32, customer_id UInt32, kind String,"
        " amount Decimal(10, 2), updated_at DateTime) ENGINE = MergeTree ORDER BY (event_id, updated_at)"
    )
    columns = ["event_id", "customer_id", "kind", "amount", "updated_at"]
    client.insert(f"{schema}.raw_events", _first_events(), column_names=columns)

    builds, results = [], []
    builds.append(_dbt(["build"], env, work))
    results.append(json.loads((work / "target" / "run_results.json").read_text()))
    if builds[0].returncode == 0:
        # Marker on a row no later event touches: a full rebuild would lose it, an incremental run keeps it.
        for model in ("events_default", "events_delete_insert", "events_append"):
            client.command(
                f"ALTER TABLE {schema}.{model} UPDATE amount = -1 WHERE event_id = 1",
                settings={"mutations_sync": 2},
            )
        client.insert(f"{schema}.raw_events", _later_events(), column_names=columns)
        builds.append(_dbt(["build"], env, work))
        results.append(json.loads((work / "target" / "run_results.json").read_text()))
    docs = _dbt(["docs", "generate"], env, work)
    after = sorted(p.relative_to(PROJECT) for p in PROJECT.rglob("*"))
    assert after == before, "dbt wrote into the fixture project"
    yield DbtRuns(schema, builds, results, docs, work / "target", client)
    client.command(f"DROP DATABASE IF EXISTS {schema} SYNC")
    client.close()


def _rows(runs: DbtRuns, sql: str) -> list[tuple[Any, ...]]:
    return runs.client.query(sql.format(s=runs.schema)).result_rows


def test_both_builds_succeed(dbt_runs: DbtRuns) -> None:
    for number, build in enumerate(dbt_runs.builds, 1):
        assert build.returncode == 0, f"build {number}:\n{build.stdout[-6000:]}\n{build.stderr[-3000:]}"
    assert len(dbt_runs.builds) == 2
    for results in dbt_runs.run_results:
        statuses = {r["unique_id"]: r["status"] for r in results["results"]}
        assert set(statuses.values()) <= {"success", "pass"}, statuses
        kinds = sorted({uid.split(".")[0] for uid in statuses})
        assert kinds == ["model", "seed", "snapshot", "test"]
        assert sum(uid.startswith("test.") for uid in statuses) == 12


def test_view_and_tables(dbt_runs: DbtRuns) -> None:
    total = FIRST_EVENTS + NEW_EVENTS
    assert _rows(dbt_runs, "SELECT count(), uniqExact(event_id) FROM {s}.stg_events") == [(total, total)]
    assert _rows(dbt_runs, "SELECT engine FROM system.tables WHERE database = '{s}' AND name = 'stg_events'") == [
        ("View",)
    ]
    assert _rows(dbt_runs, "SELECT customer_id, name, tier FROM {s}.customers_dim ORDER BY customer_id") == [
        (1, "Анна", "gold"),
        (2, "Борис", "silver"),
        (3, "Acme, Inc.", "gold"),
        (4, "Zed's", "bronze"),
        (5, "Eve", "silver"),
    ]
    revenue = _rows(dbt_runs, "SELECT sum(events), sum(revenue) FROM {s}.customer_revenue")
    expected = _rows(dbt_runs, "SELECT count(), sum(amount) FROM {s}.events_delete_insert")
    assert revenue == expected
    assert _rows(dbt_runs, "SELECT count() FROM {s}.customer_revenue") == [(5,)]


@pytest.mark.parametrize("model", ["events_default", "events_delete_insert"])
def test_unique_key_incrementals_replace_corrected_rows(dbt_runs: DbtRuns, model: str) -> None:
    total = FIRST_EVENTS + NEW_EVENTS
    assert _rows(dbt_runs, f"SELECT count(), uniqExact(event_id) FROM {{s}}.{model}") == [(total, total)]
    for event_id, (customer, kind, amount) in CORRECTED.items():
        assert _rows(dbt_runs, f"SELECT customer_id, kind, amount FROM {{s}}.{model} WHERE event_id = {event_id}") == [
            (customer, kind, amount)
        ]
    new = _rows(dbt_runs, f"SELECT count() FROM {{s}}.{model} WHERE event_id > {FIRST_EVENTS}")
    assert new == [(NEW_EVENTS,)]
    # The marker set after the first build survived: the second build was incremental, not a rebuild.
    assert _rows(dbt_runs, f"SELECT amount FROM {{s}}.{model} WHERE event_id = 1") == [(MARKER,)]


def test_append_incremental_logs_each_new_version_once(dbt_runs: DbtRuns) -> None:
    rows = FIRST_EVENTS + NEW_EVENTS + len(CORRECTED)
    assert _rows(dbt_runs, "SELECT count(), uniqExact(event_id) FROM {s}.events_append") == [
        (rows, FIRST_EVENTS + NEW_EVENTS)
    ]
    for event_id, (_, _, amount) in CORRECTED.items():
        versions = _rows(
            dbt_runs, f"SELECT amount FROM {{s}}.events_append WHERE event_id = {event_id} ORDER BY updated_at"
        )
        assert versions == [(decimal.Decimal(event_id * 10),), (amount,)]
    assert _rows(dbt_runs, "SELECT amount FROM {s}.events_append WHERE event_id = 1") == [(MARKER,)]


def test_snapshot_has_versions(dbt_runs: DbtRuns) -> None:
    total = FIRST_EVENTS + NEW_EVENTS
    assert _rows(dbt_runs, "SELECT count(), countIf(dbt_valid_to IS NULL) FROM {s}.events_snapshot") == [
        (total + len(CORRECTED), total)
    ]
    for event_id, (_, _, amount) in CORRECTED.items():
        versions = _rows(
            dbt_runs,
            f"SELECT amount, dbt_valid_to IS NULL FROM {{s}}.events_snapshot WHERE event_id = {event_id} "
            "ORDER BY dbt_valid_from",
        )
        assert versions == [(decimal.Decimal(event_id * 10), False), (amount, True)]


def test_docs_generate(dbt_runs: DbtRuns) -> None:
    docs = dbt_runs.docs
    assert docs.returncode == 0, f"{docs.stdout[-6000:]}\n{docs.stderr[-3000:]}"
    catalog = json.loads((dbt_runs.target / "catalog.json").read_text())
    assert not catalog.get("errors"), catalog.get("errors")
    nodes = {node["metadata"]["name"]: node for node in catalog["nodes"].values()}
    assert set(MODELS) <= set(nodes), sorted(nodes)
    columns = nodes["events_delete_insert"]["columns"]
    assert [c.lower() for c in columns] == ["event_id", "customer_id", "kind", "amount", "updated_at"]
    assert columns["amount"]["type"] == "Decimal(10, 2)"
