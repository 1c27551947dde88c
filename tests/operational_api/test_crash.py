"""A process killed (SIGKILL) in the middle of a batch leaves all of it or none of it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from operational_api.db import Store
from operational_api.models import AccountEntry, VendTransaction
from operational_api.services import vending
from tests.operational_api.factories import seed, vend_json, vends

ROOT = Path(__file__).resolve().parents[2]

# Ingests a batch through the service layer and stops (printing READY) after the vend rows are
# written and before the ledger rows and the commit: the parent kills it right there.
CHILD = textwrap.dedent(
    """
    import json, sys, time
    from sqlalchemy import event
    from operational_api.db import Store
    from operational_api.schemas.vending import VendIn
    from operational_api.services import vending
    from pulse.core.settings import Settings

    url, home, path = sys.argv[1:4]
    items = [VendIn.model_validate(x) for x in json.load(open(path))]
    store = Store(url, settings=Settings(home=home, ops_database_url=url))

    @event.listens_for(store.write_engine, "after_cursor_execute")
    def pause(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO account_entries"):
            print("READY", flush=True)
            time.sleep(60)

    with store.write() as session:
        vending.ingest_vends(session, items)
    print("COMMITTED", flush=True)
    """
)


def _counts(store: Store) -> tuple[int, int]:
    with store.read() as s:
        return (
            int(s.execute(select(func.count()).select_from(VendTransaction)).scalar_one()),
            int(
                s.execute(
                    select(func.count()).select_from(AccountEntry).where(AccountEntry.kind == "vend")
                ).scalar_one()
            ),
        )


def test_killed_mid_batch_leaves_nothing_then_retry_stores_all(store: Store, tmp_path: Path) -> None:
    world = seed(store)
    items = vends(world, 2000)
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps(vend_json(items)))
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    child = subprocess.Popen(
        [sys.executable, str(script), store.url, str(store.settings.home), str(batch)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.strip() == "READY"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert _counts(store) == (0, 0)
    # The machine retries the same batch: everything lands, once.
    with store.write() as s:
        vending.ingest_vends(s, items)
    assert _counts(store) == (2000, 2000)


@pytest.mark.slow
def test_server_killed_during_http_batches_leaves_whole_batches(
    store: Store, keys: dict[str, str], tmp_path: Path
) -> None:
    """uvicorn in a subprocess is SIGKILLed at a random moment while batches stream in: every batch
    is entirely stored or entirely absent, and retrying all of them afterwards completes the set."""
    world = seed(store)
    batches = [vends(world, 1000, prefix=f"b{n}") for n in range(12)]
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PULSE_HOME": str(store.settings.home),
           "PULSE_OPS_DATABASE_URL": store.url}  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "operational_api.asgi:app", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    headers = {"Authorization": f"Bearer {keys['machine']}"}
    url = f"http://127.0.0.1:{port}/v1/vend-transactions/batch"
    try:
        _wait_up(port)
        with httpx.Client(timeout=30) as client:
            for index, batch in enumerate(batches):
                if index == 6:
                    # Kill while this request is in flight.
                    threading.Timer(0.02, server.send_signal, args=(signal.SIGKILL,)).start()
                try:
                    client.post(url, json={"items": vend_json(batch)}, headers=headers)
                except httpx.HTTPError:
                    break
    finally:
        server.kill()
        server.wait(timeout=30)
    with store.read() as s:
        ids = set(s.execute(select(VendTransaction.id)).scalars())
    whole = 0
    for batch in batches:
        present = sum(item.id in ids for item in batch)
        assert present in (0, len(batch))
        whole += present == len(batch)
    assert whole in (6, 7)  # the batches before the kill, and maybe the one in flight
    for batch in batches:
        with store.write() as s:
            vending.ingest_vends(s, batch)
    assert _counts(store) == (12000, 12000)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_up(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")
