"""The DAGs import cleanly, are wired as designed, run pulse_elt end to end on simulated data, and a failing
task fails the run (dag.test() does not raise: the DagRun's state is what is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pulse import airflow_runtime
from pulse.settings import Settings
from tests.platform import Platform

pytestmark = pytest.mark.xdist_group("airflow")
RUNNER = Path(__file__).with_name("run_dag.py")


def run_dag(settings: Settings, dag_id: str, **env: str) -> dict[str, object]:
    environment = {**airflow_runtime.airflow_env(settings), "PULSE_AIRFLOW_RETRIES": "0", **env}
    done = subprocess.run(
        [sys.executable, str(RUNNER), dag_id], env=environment, capture_output=True, text=True, timeout=900
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return json.loads(lines[-1].removeprefix("RESULT "))  # type: ignore[no-any-return]


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
    dbt_tasks = [t for t in elt if t.startswith("dbt.")]
    assert dbt_tasks, "the dbt project is rendered as tasks"
    assert all(any(d.startswith("dbt.") for d in elt[e]) for e in ("extract_crm", "extract_vending", "load_feeds"))
    assert elt["dbt_source_freshness"] == ["reconcile"]
    assert report["dags"]["pulse_maintenance"] == {
        "optimize_raw": ["dbt_full_tests"],
        "dbt_full_tests": ["quarantine_report"],
        "quarantine_report": ["cleanup"],
        "cleanup": [],
    }


def test_pulse_elt_end_to_end_then_maintenance(airflow_platform: Platform) -> None:
    result = run_dag(airflow_platform.settings, "pulse_elt")
    assert result["state"] == "success", result
    client = airflow_platform.client()
    loaded = client.query("SELECT count() FROM raw.vend_transactions FINAL").result_rows[0][0]
    with airflow_platform.store.read() as session:
        from sqlalchemy import func, select

        from operational_api.models import VendTransaction

        assert loaded == session.scalar(select(func.count()).select_from(VendTransaction))
    assert client.query("SELECT count() FROM staging.stg_hospitals").result_rows[0][0] > 0
    maintenance = run_dag(airflow_platform.settings, "pulse_maintenance")
    assert maintenance["state"] == "success", maintenance
    parts = client.query(
        "SELECT count() FROM system.parts WHERE database = 'raw' AND table = 'vend_transactions' AND active"
    ).result_rows[0][0]
    assert parts == 1  # OPTIMIZE FINAL merged every version into one part


def test_a_failing_task_fails_the_run(airflow_platform: Platform, tmp_path: Path) -> None:
    broken = json.dumps({"conn_type": "generic", "extra": {"url": f"sqlite:///{tmp_path / 'missing' / 'ops.db'}"}})
    result = run_dag(airflow_platform.settings, "pulse_elt", AIRFLOW_CONN_PULSE_OPS=broken)
    assert result["state"] == "failed"
    tasks = result["tasks"]
    assert isinstance(tasks, dict)
    assert tasks["extract_vending"] == "failed"
    assert tasks["reconcile"] in ("upstream_failed", "None")
