"""`pulse demo` end to end on a tiny business, the way a user runs it: every service comes up healthy, the
pipeline, statements and dashboards are there, live traffic flows, and Ctrl-C (SIGINT to the terminal's
process group) stops every service cleanly."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from pulse.airflow import runtime as airflow_runtime
from pulse.airflow.runtime import AIRFLOW_ADMIN
from pulse.core import processes
from pulse.core.settings import Settings
from pulse.platform import lineup
from tests.conftest import free_port

pytestmark = [pytest.mark.xdist_group("demo"), pytest.mark.timeout(2400)]


def wait_for(log: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        assert process.poll() is None, f"the demo exited ({process.returncode}):\n{log.read_text()[-6000:]}"
        assert time.monotonic() < deadline, f"no {text!r} in time:\n{log.read_text()[-6000:]}"
        time.sleep(1)


def platform_processes(home: Path) -> list[psutil.Process]:
    """Every process the demo started: they all carry its PULSE_HOME."""
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if process.environ().get("PULSE_HOME") == str(home):
                found.append(process)
    return found


def assert_listens_on_loopback_only(home: Path) -> None:
    """What `ss -ltnp` shows for the demo's processes: every listening socket on 127.0.0.1 (or ::1)."""
    listening = {
        (process.name(), c.laddr.ip, c.laddr.port)
        for process in platform_processes(home)
        for c in process.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    }
    assert len(listening) >= 5, listening  # the warehouse, the API, SMTP, Airflow, Superset at least
    exposed = {entry for entry in listening if entry[1] not in ("127.0.0.1", "::1")}
    assert not exposed, f"listening beyond loopback: {sorted(exposed)}"


def assert_airflow_needs_a_login(settings: Settings, port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    anonymous = httpx.post(f"{base}/api/v2/dags/pulse_elt/dagRuns", json={"logical_date": None}, timeout=30)
    assert anonymous.status_code in (401, 403), anonymous.text
    assert httpx.get(f"{base}/api/v2/dags", timeout=30).status_code in (401, 403)
    wrong = httpx.post(f"{base}/auth/token", json={"username": AIRFLOW_ADMIN, "password": "admin"}, timeout=30)
    assert wrong.status_code in (401, 403), wrong.text
    login = {"username": AIRFLOW_ADMIN, "password": airflow_runtime.admin_password(settings)}
    token = httpx.post(f"{base}/auth/token", json=login, timeout=30).json()["access_token"]
    dag = httpx.get(f"{base}/api/v2/dags/pulse_elt", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert dag.status_code == 200, dag.text


def assert_no_secret_written(home: Path, demo_log: Path) -> None:
    """No generated secret in the demo's output, any log, the outbox, or Superset's action log (`logs` table)."""
    secrets = {p.name: p.read_text().strip() for p in (home / "secrets").iterdir() if p.is_file()}
    secrets = {name: value for name, value in secrets.items() if len(value) >= 8}
    assert {"warehouse_reader_password", "airflow_admin_password", "superset_secret_key"} <= secrets.keys()
    places = [demo_log, *(p for p in home.rglob("*") if p.is_file() and (p.suffix in (".log", ".eml") or
                                                                          "outbox" in p.parts))]  # fmt: skip
    texts = {str(p): p.read_text(errors="replace") for p in places}
    with contextlib.closing(sqlite3.connect(home / "superset" / "superset.db")) as db:
        texts["superset logs table"] = "\n".join(str(row) for row in db.execute("SELECT * FROM logs"))
    assert len(texts) > 3, texts.keys()
    leaks = [(name, where) for name, value in secrets.items() for where, text in texts.items() if value in text]
    assert not leaks, f"secrets written out: {leaks}"


def test_demo_runs_everything_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    # 45 days: every source has rows younger than its freshness threshold (monthly invoices included).
    home = tmp_path / "home"
    ports = {name: str(free_port()) for name in ("API", "SMTP", "AIRFLOW", "SUPERSET", "DBT_DOCS")}
    env = {**os.environ, "PULSE_HOME": str(home), "PULSE_DEMO_DAYS": "45", "PULSE_DEMO_SCALE": "0.02",
           "XDG_CACHE_HOME": str(tmp_path / "cache"),  # the history cache: not the user's
           "PULSE_CLICKHOUSE_URL": f"http://default:@127.0.0.1:{free_port()}",
           **{f"PULSE_{name}_PORT": port for name, port in ports.items()}}  # fmt: skip
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        demo = subprocess.Popen([sys.executable, "-m", "pulse", "demo"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    settings = Settings(_env_file=None, **{k.removeprefix("PULSE_").lower(): v for k, v in env.items()
                                           if k.startswith("PULSE_")})  # type: ignore[call-arg]  # fmt: skip
    try:
        wait_for(log, "vends stored", demo, timeout=2000)  # set up done, a first minute of live traffic posted
        wait_for(log, "every statement run has ended", demo, timeout=600)  # they may render beside the traffic
        for name, pid, ok, url in lineup.status(settings):
            assert pid is not None and ok, f"{name} is not healthy at {url}"
        assert any((home / "outbox").iterdir()), "no statement reached the SMTP sink"
        login = httpx.get(f"http://127.0.0.1:{ports['SUPERSET']}/login/", timeout=30)
        assert login.status_code == 200 and "Superset" in login.text
        assert_listens_on_loopback_only(home)
        assert_airflow_needs_a_login(settings, int(ports["AIRFLOW"]))
        assert_no_secret_written(home, log)
        text = log.read_text(errors="replace")
        for expected in ("Pulse is running", "manager_h001", "reconcile", "sent", "pulse metrics query"):
            assert expected in text, expected
        os.killpg(demo.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        assert demo.wait(timeout=300) == 0, log.read_text()[-4000:]
        for service in lineup.all_services(settings):
            assert processes.running_pid(service, settings) is None, f"{service.name} still running"
            assert not processes.healthy(service), f"{service.name} still answers"
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
        subprocess.run([sys.executable, "-m", "pulse", "down"], env=env, capture_output=True, timeout=300)
