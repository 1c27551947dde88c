"""The pulse_reports DAG imports, is wired as designed, and runs end to end with `dag.test()` (in a fresh
process, as tests/dags does): due subscriptions are delivered through the SMTP sink, a recipient who
ultimately failed fails the run, and the next run finds nothing due and sends nothing."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from operational_api.models import ReportSubscription
from pulse.airflow import runtime as airflow_runtime
from tests.reports.delivery_env import CUSTOMERS_QUERY, PERIOD, ReportsEnv

pytestmark = pytest.mark.xdist_group("reports")
RUNNER = Path(__file__).with_name("run_reports_dag.py")


def run_dag(env: ReportsEnv) -> dict[str, object]:
    environment = {
        **airflow_runtime.airflow_env(env.settings),
        **env.env(),
        "PULSE_AIRFLOW_RETRIES": "0",
        "PULSE_REPORTS_WORKERS": "2",
    }
    done = subprocess.run([sys.executable, str(RUNNER)], env=environment, capture_output=True, text=True, timeout=600)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return json.loads(lines[-1].removeprefix("RESULT "))  # type: ignore[no-any-return]


def test_pulse_reports_dag_delivers_due_subscriptions_and_fails_on_a_failed_recipient(
    reports_env: ReportsEnv,
) -> None:
    env = reports_env
    with_period = f"SELECT *, '{PERIOD}' AS period FROM ({CUSTOMERS_QUERY.format(limit=4)})"
    customers = env.subscribe("dag-customers", query=with_period, cron="0 8 1 * *", time_zone="UTC")
    mixed = env.subscribe(
        "dag-mixed",
        query=f"SELECT *, '{PERIOD}' AS period FROM ({CUSTOMERS_QUERY.format(limit=1)} "
        "UNION ALL SELECT 101, 'not an address', 'en', 'Bad Address')",
        cron="0 8 * * *",
        time_zone="Europe/Moscow",
    )
    env.subscribe("dag-disabled", cron="* * * * *", time_zone="UTC", enabled=False)
    with env.store.write() as session:  # subscriptions that have existed for a while: their schedule fired
        session.execute(
            update(ReportSubscription).values(created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), change_seq=10**12)
        )
    airflow_runtime.init(env.settings)

    first = run_dag(env)
    assert first["state"] == "failed", first  # dag-mixed has a recipient that cannot get a statement
    assert first["tasks"] == {"find_due": ["success"], "deliver": ["success", "success"], "summary": ["failed"]}
    assert {r.email: r.state for r in env.ledger(customers)} == dict.fromkeys(env.customer_emails(4), "sent")
    assert sorted(r.state for r in env.ledger(mixed)) == ["failed", "sent"]
    assert len(env.messages()) == 5
    runs = {r.run_id for r in env.ledger(customers)}
    assert len(runs) == 1 and str(runs.pop()).startswith("manual__")  # the Airflow run id is on every row
    with env.store.read() as session:
        fired = {s.name: s.last_fired_at for s in session.query(ReportSubscription)}
    assert fired["dag-customers"] is not None and fired["dag-mixed"] is not None and fired["dag-disabled"] is None

    second = run_dag(env)  # nothing is due any more: nothing is sent, and the run is green
    assert second["state"] == "success", second
    assert second["tasks"]["find_due"] == ["success"] and second["tasks"]["summary"] == ["success"], second
    assert len(env.messages()) == 5
