"""What the Airflow DAGs run. The DAG files only wire these together; the logic lives in the packages.

Connections come from Airflow (`AIRFLOW_CONN_PULSE_WAREHOUSE`, `AIRFLOW_CONN_PULSE_OPS`, set from Pulse's
settings by `pulse airflow ...` or by the deployment), so DAG files hold no addresses and no secrets.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pulse.core.console import PulseError
from pulse.core.paths import DAGS_DIR
from pulse.core.settings import Settings, get_settings
from pulse.dbt.runner import DbtSession, failed_nodes, run_dbt

if TYPE_CHECKING:
    from dbt_common.events.base_types import EventMsg

log = logging.getLogger("pulse.airflow.elt_tasks")

WAREHOUSE_CONN = "pulse_warehouse"
OPS_CONN = "pulse_ops"


def settings_from_connections() -> Settings:
    """Pulse settings whose warehouse and operational store are the Airflow connections'."""
    from airflow.sdk import BaseHook

    warehouse = BaseHook.get_connection(WAREHOUSE_CONN)
    ops = BaseHook.get_connection(OPS_CONN)
    scheme = "https" if warehouse.extra_dejson.get("secure") else "http"
    user = quote(warehouse.login or "default", safe="")
    password = quote(warehouse.password or "", safe="")
    url = f"{scheme}://{user}:{password}@{warehouse.host}:{warehouse.port or 8123}"
    return Settings(clickhouse_url=url, ops_database_url=ops.extra_dejson["url"])


def connection_env(settings: Settings) -> dict[str, str]:
    """The AIRFLOW_CONN_* variables that point Airflow at this Pulse's warehouse and store."""
    import json

    from operational_api.db import database_url

    warehouse = {
        "conn_type": "clickhouse",
        "host": settings.clickhouse_host,
        "port": settings.clickhouse_port,
        "login": settings.clickhouse_user,
        "password": settings.clickhouse_password,
        "schema": "default",
        "extra": {"secure": settings.clickhouse_url.startswith("https")},
    }
    ops = {"conn_type": "generic", "extra": {"url": database_url(settings)}}
    return {
        f"AIRFLOW_CONN_{WAREHOUSE_CONN.upper()}": json.dumps(warehouse),
        f"AIRFLOW_CONN_{OPS_CONN.upper()}": json.dumps(ops),
    }


# -- pulse_elt ---------------------------------------------------------------------------------------
def extract_group(group: str) -> dict[str, int]:
    """Extract one source group's tables; returns rows per table (shown as the task's XCom)."""
    from extractors.load import source_groups
    from extractors.pipeline import extract

    results = extract(settings_from_connections(), source_groups()[group])
    for r in results:
        log.info("%s: %d rows in %.2fs by %s (watermark %d)", r.table, r.rows, r.seconds, r.route, r.watermark)
    return {r.table: r.rows for r in results}


def load_landing_feeds() -> dict[str, int]:
    from extractors.feeds import load_feeds
    from warehouse.client import connect

    settings = settings_from_connections()
    results = load_feeds(connect(settings), settings.resolved_landing_url)
    loaded = [r for r in results if not r.skipped]
    for r in loaded:
        log.info("%s: %d rows, %d quarantined", r.file, r.rows, r.quarantined)
    return {
        "files": len(loaded),
        "rows": sum(r.rows for r in loaded),
        "quarantined": sum(r.quarantined for r in loaded),
    }


def dbt_build() -> dict[str, Any]:
    """The hourly build, `DbtSession.build_changed()`, in this task's process (what benchmarks/dbt_bench.py
    measures): only what changed raw tables, the date or the project feed, with windowed tests."""
    return build_changed(settings_from_connections())


def build_changed(settings: Settings) -> dict[str, Any]:
    """Run the planned build, one log line per model, seed and test; a failed node fails the task, named."""
    try:
        outcome = DbtSession(settings, callbacks=[log_node_result]).build_changed()
    except PulseError as error:  # dbt itself failed (cannot parse, cannot connect), not a node
        raise DbtFailed(f"{error}; dbt log: {dbt_log_file(settings)}") from error
    log.info("dbt build (%s): %d nodes in %.1fs", outcome.plan.reason, outcome.nodes, outcome.seconds)
    if not outcome.success:
        raise DbtFailed(failure_message("dbt build", outcome.failures, settings))
    return {"plan": outcome.plan.reason, "nodes": outcome.nodes, "seconds": round(outcome.seconds, 1)}


def metric_alerts() -> dict[str, int]:
    """The metric alert rules on the marts the build just made (pulse.alerts.metric_rules); the alerts service sends
    their notices. An unreachable warehouse fails the task; a rule that cannot be evaluated is logged."""
    from dataclasses import asdict

    from operational_api.db import Store
    from pulse.alerts.metric_rules import evaluate_metric_rules

    settings = settings_from_connections()
    store = Store(settings=settings)
    try:
        return asdict(evaluate_metric_rules(store, settings))
    finally:
        store.dispose()


def dbt_source_freshness() -> None:
    code = run_dbt(["source", "freshness"], settings_from_connections())
    if code != 0:
        raise RuntimeError(f"dbt source freshness failed (exit {code}): a source is older than its error_after")


def reconcile_layers() -> int:
    from extractors.reconcile import reconcile

    checks = reconcile(settings_from_connections())
    log.info("%d reconciliation checks passed", len(checks))
    return len(checks)


class DbtFailed(RuntimeError):
    """A dbt model, seed or test failed (or dbt could not run): the message names them and the dbt log."""


# dbt's run-result statuses that pass (a model or seed built, a test without failing rows).
PASSED = frozenset({"success", "pass"})


def log_node_result(event: EventMsg) -> None:
    """dbt event callback: one log line per node dbt finished (model, seed, test, skipped ones too) with its status
    and time, and dbt's reason when it did not pass. Logged through `logging`, so it lands in the Airflow task log
    whatever dbt prints (it runs quiet)."""
    if event.info.name != "NodeFinished":
        return
    node, result = event.data.node_info, event.data.run_result
    status = str(result.status)
    line = f"{node.unique_id}: {status.upper()} in {result.execution_time:.2f}s"
    if result.num_failures:
        line += f", {result.num_failures} failing row(s)"
    if status not in PASSED and result.message:
        line += f": {result.message}"
    level = logging.INFO if status in PASSED else logging.WARNING if status in {"skipped", "warn"} else logging.ERROR
    log.log(level, "%s", line)


def dbt_log_file(settings: Settings) -> Path:
    return settings.home / "dbt" / "logs" / "dbt.log"  # DBT_LOG_PATH (pulse.dbt.runner.dbt_env)


def failure_message(what: str, failures: Sequence[str], settings: Settings) -> str:
    named = ", ".join(failures) if failures else "no node reported a failure (dbt itself failed)"
    return f"{what} failed: {len(failures)} node(s): {named}. dbt log: {dbt_log_file(settings)}"


# -- pulse_maintenance ------------------------------------------------------------------------------
def optimize_raw() -> dict[str, float]:
    """OPTIMIZE ... FINAL every raw table: merge the row versions so FINAL reads stay cheap."""
    from extractors.raw_schema import RAW_DATABASE
    from warehouse.client import connect

    client = connect(settings_from_connections())
    tables = [
        r[0]
        for r in client.query(
            "SELECT name FROM system.tables WHERE database = {d:String} AND engine LIKE '%MergeTree'",
            parameters={"d": RAW_DATABASE},
        ).result_rows
    ]
    seconds = {}
    for table in tables:
        started = time.perf_counter()
        client.command(f"OPTIMIZE TABLE {RAW_DATABASE}.`{table}` FINAL")
        seconds[table] = round(time.perf_counter() - started, 3)
    return seconds


def dbt_full_tests() -> dict[str, int]:
    """Every dbt test over all rows: unit tests, whole-table tests (tag full_scan) and the ones the hourly build
    leaves out, every data test unwindowed (hourly builds test only the rows changed since a test passed). No
    rebuild: the hourly build keeps the models current, and a project change makes it rebuild everything."""
    settings = settings_from_connections()
    try:
        outcome = DbtSession(settings, callbacks=[log_node_result]).invoke(["test", "--vars", "{full_tests: true}"])
    except PulseError as error:
        raise DbtFailed(f"{error}; dbt log: {dbt_log_file(settings)}") from error
    results = list(outcome.result.results)
    failures = failed_nodes(results)
    log.info("dbt test over all rows: %d tests, %d failed", len(results), len(failures))
    if not outcome.success:
        raise DbtFailed(failure_message("dbt test over all rows", failures, settings))
    return {"tests": len(results), "failed": 0}


def quarantine_report(hours: int = 24) -> dict[str, int]:
    """Quarantined feed rows of the last day, by feed and reason (logged for whoever owns the feed)."""
    from extractors.feeds import QUARANTINE
    from warehouse.client import connect

    client = connect(settings_from_connections())
    rows = client.query(
        f"SELECT feed, reason, count() FROM {QUARANTINE} FINAL "
        "WHERE quarantined_at > now() - toIntervalHour({h:UInt32}) GROUP BY feed, reason ORDER BY feed",
        parameters={"h": hours},
    ).result_rows
    for feed, reason, count in rows:
        log.warning("quarantine %s: %d rows: %s", feed, count, reason)
    totals: dict[str, int] = {}
    for feed, _, count in rows:
        totals[feed] = totals.get(feed, 0) + int(count)
    return totals


def cleanup(keep_days: int = 30) -> dict[str, int]:
    """Drop extraction-log rows older than `keep_days` (the latest per table stays) and old dbt logs."""
    from extractors.load import WATERMARKS
    from warehouse.client import connect

    settings = settings_from_connections()
    client = connect(settings)
    client.command(
        f"DELETE FROM {WATERMARKS} WHERE updated_at < now() - toIntervalDay({int(keep_days)}) "
        f"AND (table_name, updated_at) NOT IN (SELECT table_name, max(updated_at) FROM {WATERMARKS} GROUP BY table_name)"
    )
    removed = 0
    logs = settings.home / "dbt" / "logs"
    cutoff = time.time() - keep_days * 86400
    for path in logs.glob("*") if logs.exists() else []:
        if path.stat().st_mtime < cutoff:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
            removed += 1
    return {"dbt_log_files_removed": removed}


def retry_args(settings: Settings | None = None) -> dict[str, Any]:
    """Default task arguments: retries with exponential backoff (PULSE_AIRFLOW_RETRIES)."""
    settings = settings or get_settings()
    return {
        "retries": settings.airflow_retries,
        "retry_delay": dt.timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": dt.timedelta(minutes=10),
    }


def repo_dags_folder() -> Path:
    return DAGS_DIR
