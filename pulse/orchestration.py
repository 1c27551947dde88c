"""What the Airflow DAGs run. The DAG files only wire these together; the logic lives in the packages.

Connections come from Airflow (`AIRFLOW_CONN_PULSE_WAREHOUSE`, `AIRFLOW_CONN_PULSE_OPS`, set from Pulse's
settings by `pulse airflow ...` or by the deployment), so DAG files hold no addresses and no secrets.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pulse.dbt import PROJECT_DIR, run_dbt
from pulse.settings import Settings, get_settings

log = logging.getLogger("pulse.orchestration")

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
        log.info("%s: %d rows in %.2fs (watermark %d)", r.table, r.rows, r.seconds, r.watermark)
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


def dbt_source_freshness() -> None:
    code = run_dbt(["source", "freshness"], settings_from_connections())
    if code != 0:
        raise RuntimeError(f"dbt source freshness failed (exit {code}): a source is older than its error_after")


def reconcile_layers() -> int:
    from extractors.reconcile import reconcile

    checks = reconcile(settings_from_connections())
    log.info("%d reconciliation checks passed", len(checks))
    return len(checks)


def dbt_task_group(group_id: str = "dbt") -> Any:
    """The dbt project as one Airflow task per model/seed/test (cosmos), each running `dbt build` on it."""
    from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

    manifest = get_settings().home / "dbt" / "target" / "manifest.json"
    return DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=PROJECT_DIR, manifest_path=manifest if manifest.exists() else None
        ),
        profile_config=ProfileConfig(
            profile_name="pulse", target_name="warehouse", profiles_yml_filepath=PROJECT_DIR / "profiles.yml"
        ),
        execution_config=ExecutionConfig(execution_mode=ExecutionMode.LOCAL, invocation_mode=InvocationMode.DBT_RUNNER),
        render_config=RenderConfig(
            # A manifest (from `pulse dbt parse`) makes parsing the DAG instant; without one cosmos reads the files.
            load_method=LoadMode.DBT_MANIFEST if manifest.exists() else LoadMode.CUSTOM,
            test_behavior=TestBehavior.BUILD,
            # A relationships test has two parents: run it in its own task once both are built.
            should_detach_multiple_parents_tests=True,
            emit_datasets=False,
        ),
        operator_args={"install_deps": False},
    )


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


def dbt_full_tests() -> None:
    """Every dbt data test over all rows (hourly runs test only the rows that changed since a test passed)."""
    code = run_dbt(["test", "--vars", "{full_tests: true}"], settings_from_connections())
    if code != 0:
        raise RuntimeError(f"dbt test over all rows failed (exit {code}): see the log for the failing tests")


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
    return Path(__file__).resolve().parent.parent / "dags"
