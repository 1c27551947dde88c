"""The DAGs import cleanly, are wired as designed, run pulse_elt end to end on simulated data (its dbt task is the
planned build, one log line per model and test), and a failing task fails the run, a failing dbt test naming
itself (dag.test() does not raise: the DagRun's state is what is asserted)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from operational_api.models import AdSpend, Alert, AlertRule, Machine, VendTransaction
from operational_api.services.alert_rules import rule_before_write
from pulse.airflow import runtime as airflow_runtime
from pulse.core.settings import Settings
from tests.platform import Platform

pytestmark = pytest.mark.xdist_group("airflow")
RUNNER = Path(__file__).with_name("run_dag.py")


def run_dag(settings: Settings, dag_id: str, **env: str) -> dict[str, Any]:
    """The run's state, each task's state, and `output`: what the run printed (dag.test() logs tasks there)."""
    environment = {**airflow_runtime.airflow_env(settings), "PULSE_AIRFLOW_RETRIES": "0", **env}
    done = subprocess.run(
        [sys.executable, str(RUNNER), dag_id], env=environment, capture_output=True, text=True, timeout=900
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return {**json.loads(lines[-1].removeprefix("RESULT ")), "output": done.stdout + done.stderr}


@pytest.fixture
def airflow_platform(platform: Platform) -> Platform:
    airflow_runtime.init(platform.settings)
    return platform


def test_dags_import_and_are_wired(airflow_platform: Platform) -> None:
    script = (
        "import json\nfrom airflow.dag_processing.dagbag import DagBag\n"
        "bag = DagBag()\n"
        "print(json.dumps({'errors': {k: str(v) for k, v in bag.import_errors.items()}, 'dags': {d: "
        "{t.task_id: sorted(t.downstream_task_ids) for t in bag.dags[d].tasks} for d in bag.dags}}))"
    )
    env = airflow_runtime.airflow_env(airflow_platform.settings)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["errors"] == {}
    elt = report["dags"]["pulse_elt"]
    assert {"extract_crm", "extract_vending", "load_feeds", "dbt_source_freshness", "reconcile"} <= set(elt)
    assert all(elt[e] == ["dbt_build"] for e in elt if e.startswith("extract_") or e == "load_feeds")
    # one task: the planned build, not a task per model; the metric alerts read the marts it just built
    assert elt["dbt_build"] == ["dbt_source_freshness", "metric_alerts"]
    assert elt["metric_alerts"] == []
    assert elt["dbt_source_freshness"] == ["reconcile"]
    assert report["dags"]["pulse_maintenance"] == {
        "optimize_raw": ["dbt_full_tests"],
        "dbt_full_tests": ["quarantine_report"],
        "quarantine_report": ["cleanup"],
        "cleanup": [],
    }


def test_pulse_elt_end_to_end_then_maintenance(airflow_platform: Platform) -> None:
    # A metric alert rule the marts of any simulated history satisfy: the metric_alerts task reads them, as the
    # warehouse's read-only user, once dbt_build has made them (tests/pulse/alerts/test_metric_alerts.py checks what
    # the conditions find).
    with airflow_platform.store.write() as session:
        params = {"metric": "mart_vending_daily.total_kits_sold", "by": "hospital_id", "condition": "above",
                  "threshold": 0, "period": "all"}  # fmt: skip
        values = rule_before_write(
            session, {"name": "Hospital sold kits", "kind": "metric", "severity": "info", "params": params}, None
        )
        rule = AlertRule(enabled=True, cooldown_minutes=60, remind_minutes=0, **values)
        session.add(rule)
        session.flush()
        rule_id = rule.id
    reader = {"PULSE_WAREHOUSE_READER_PASSWORD": airflow_platform.settings.reader_password()}
    result = run_dag(airflow_platform.settings, "pulse_elt", **reader)
    assert result["state"] == "success", result["tasks"]
    assert result["tasks"]["metric_alerts"] == "success"
    with airflow_platform.store.read() as session:
        selling = session.scalars(select(func.count(func.distinct(Machine.hospital_id))).join(
            VendTransaction, VendTransaction.machine_id == Machine.id)).one()  # fmt: skip
        raised = session.scalars(
            select(Alert.hospital_id).where(Alert.rule_id == rule_id, Alert.status == "open")
        ).all()
    assert len(set(raised)) == len(raised) == selling  # one alert per hospital that sold
    client = airflow_platform.client()
    loaded = client.query("SELECT count() FROM raw.vend_transactions FINAL").result_rows[0][0]
    with airflow_platform.store.read() as session:
        assert loaded == session.scalar(select(func.count()).select_from(VendTransaction))
    assert client.query("SELECT count() FROM staging.stg_hospitals").result_rows[0][0] > 0
    # The first build is the whole project; each model and test got its own log line with status and time.
    log = result["output"]
    assert "dbt build (first build)" in log
    assert "model.pulse.mart_executive_kpis_daily: SUCCESS in " in log
    assert "test.pulse.assert_receivables_last_paid_on_is_the_last_payment: PASS in " in log
    maintenance = run_dag(airflow_platform.settings, "pulse_maintenance")
    assert maintenance["state"] == "success", maintenance
    parts = client.query(
        "SELECT count() FROM system.parts WHERE database = 'raw' AND table = 'vend_transactions' AND active"
    ).result_rows[0][0]
    assert parts == 1  # OPTIMIZE FINAL merged every version into one part
    assert "dbt test over all rows: " in maintenance["output"]

    # Ad spend in a currency with no FX rate: the next hourly build rebuilds only what raw.ad_spend feeds, the
    # KPI mart's spend for that day is unknown (NULL, not a total without it), and its test fails the task.
    with airflow_platform.store.write() as session:
        spend = session.scalars(select(AdSpend).order_by(AdSpend.day.desc()).limit(1)).one()
        spend.currency = "XTS"  # ISO 4217's code for testing: no rate, ever
    broken = run_dag(airflow_platform.settings, "pulse_elt", **reader)
    assert broken["state"] == "failed"
    assert broken["tasks"]["dbt_build"] == "failed"
    assert broken["tasks"]["reconcile"] in ("upstream_failed", "None")
    assert broken["tasks"]["metric_alerts"] in ("upstream_failed", "None")  # no alerts on marts that failed
    log = broken["output"]
    assert "changed input(s)" in log and "dbt build (first build)" not in log
    failed_test = "test.pulse.not_null_mart_executive_kpis_daily_ad_spend_reporting."  # then the test's hash
    assert re.search(rf"{re.escape(failed_test)}\w+: FAIL in ", log), log[-5000:]
    failure = next(line for line in log.splitlines() if "dbt build failed: " in line)
    assert failed_test in failure and str(airflow_platform.settings.home / "dbt" / "logs" / "dbt.log") in failure


def test_a_failing_task_fails_the_run(airflow_platform: Platform, tmp_path: Path) -> None:
    broken = json.dumps({"conn_type": "generic", "extra": {"url": f"sqlite:///{tmp_path / 'missing' / 'ops.db'}"}})
    result = run_dag(airflow_platform.settings, "pulse_elt", AIRFLOW_CONN_PULSE_OPS=broken)
    assert result["state"] == "failed"
    assert result["tasks"]["extract_vending"] == "failed"
    assert result["tasks"]["reconcile"] in ("upstream_failed", "None")
