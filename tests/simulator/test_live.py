"""`--live` against a real `pulse api serve` process: transactions arrive, no 5xx, replays are no-ops."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from operational_api import models as m
from pulse.core.settings import Settings
from simulator.live import LiveConfig, drive
from simulator.live_world import load_world, revoke_keys
from tests.conftest import free_port
from tests.simulator.conftest import Simulated, simulate


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Simulated, Settings]]:
    sim = simulate(tmp_path / "home", seed=21, days=10, scale=0.01)
    port = free_port()
    env = {**os.environ, "PULSE_HOME": str(sim.settings.home), "PULSE_OPS_DATABASE_URL": sim.store.url,
           "PULSE_API_PORT": str(port), "PULSE_API_HOST": "127.0.0.1"}  # fmt: skip
    log = open(tmp_path / "api.log", "wb")  # noqa: SIM115 - lives as long as the server
    server = subprocess.Popen([sys.executable, "-m", "pulse", "api", "serve"], env=env, stdout=log,
                              stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (tmp_path / "api.log").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the API did not start"
            time.sleep(0.1)
        yield sim, sim.settings.model_copy(update={"api_port": port, "api_host": "127.0.0.1"})
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        sim.store.dispose()


def count(sim: Simulated, model: type[m.Base], *where: object) -> int:
    with sim.store.read() as session:
        return int(session.execute(select(func.count()).select_from(model).where(*where)).scalar_one())  # type: ignore[arg-type]


def test_live_drives_the_api(served: tuple[Simulated, Settings], tmp_path: Path) -> None:
    sim, settings = served
    before = count(sim, m.VendTransaction)
    world = load_world(sim.store, settings, customers=30)
    failures_before = count(sim, m.TopupFailure)
    # Every third card top-up declined: the portal's first round (30 customers) surely records some.
    report = asyncio.run(drive(world, LiveConfig(duration=5, rate=60, machines=6, customers=30, failed_topups=0.3)))
    revoke_keys(sim.store, world.key_ids)

    assert report.server_errors == 0, report.requests
    assert report.transport_errors == 0
    assert report.total > 100
    assert report.vends_created > 10
    assert count(sim, m.VendTransaction) - before == report.vends_created
    assert report.replays > 0 and report.replay_mismatches == 0 and report.replays_that_created == 0
    # Every stored vend was debited exactly once, however often it was sent.
    with sim.store.read() as session:
        doubles = session.execute(
            select(func.count()).select_from(
                select(m.AccountEntry.vend_transaction_id).where(m.AccountEntry.kind == "vend")
                .group_by(m.AccountEntry.vend_transaction_id).having(func.count() > 1).subquery())
        ).scalar_one()  # fmt: skip
        revoked = session.execute(select(func.count()).where(m.ApiKey.revoked_at.is_not(None))).scalar_one()
    assert doubles == 0
    assert revoked == 3
    assert any(name.startswith("POST /v1/deals/{id}/stage-moves 200") for name in report.requests)
    assert any(name.startswith("POST /v1/vend-transactions/batch 200") for name in report.requests)
    declined = {name: n for name, n in report.requests.items() if name.startswith("POST /v1/topup-failures")}
    assert declined and all(name.endswith(" 201") for name in declined), report.requests
    # Recorded once per attempt, however often it was sent.
    assert count(sim, m.TopupFailure) - failures_before == declined["POST /v1/topup-failures 201"]


def test_cli_refuses_a_remote_api(tmp_path: Path) -> None:
    env = {**os.environ, "PULSE_HOME": str(tmp_path), "PULSE_API_HOST": "192.0.2.10"}
    subprocess.run([sys.executable, "-m", "pulse", "api", "migrate"], env=env, check=True, capture_output=True)
    done = subprocess.run([sys.executable, "-m", "pulse", "simulate", "--history", "--scale", "0.005", "--days", "3",
                           "--end", "2026-01-10"], env=env, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "done" in done.stderr
    assert (tmp_path / "landing" / "fx" / "fx_rates_2026-01-09.csv").exists()
    live = subprocess.run([sys.executable, "-m", "pulse", "simulate", "--live", "--duration", "1"], env=env,
                          capture_output=True, text=True)  # fmt: skip
    assert live.returncode == 1
    assert "only an API on this machine" in live.stderr
