"""End to end on PostgreSQL, under load and faults: the simulator posts live traffic through the API while
extract-load runs again and again; the warehouse is SIGKILLed in the middle of a load and restarted, the
API is restarted mid-traffic. After a final ELT every completed vend is exactly once in the operational
store, raw, the fact table and the hospital commission mart, and the totals agree to the cent at each hop."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from simulator.live import LiveConfig, LiveReport, drive
from simulator.live_world import load_world, revoke_keys
from tests.conftest import WarehouseProcess, free_port
from tests.e2e.stack import Stack, store_totals, warehouse_totals

pytestmark = pytest.mark.xdist_group("e2e")

LIVE_SECONDS = 45


def load_in_background(stack: Stack) -> subprocess.Popen[str]:
    """A full reload of every table: long enough that the kill lands in the middle of it."""
    return subprocess.Popen([sys.executable, "-m", "pulse", "extract", "--full-refresh", "--batch-rows", "200"],
                            env=stack.env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip


def test_live_traffic_with_faults_reconciles(stack: Stack) -> None:
    stack.pulse("extract")
    stack.pulse("extract", "feeds")
    stack.pulse("dbt", "build")
    before = store_totals(stack.store)

    world = load_world(stack.store, stack.settings, customers=40)
    reports: list[LiveReport] = []
    traffic = threading.Thread(target=lambda: reports.append(
        asyncio.run(drive(world, LiveConfig(duration=LIVE_SECONDS, rate=40, machines=6, customers=40)))))  # fmt: skip
    traffic.start()
    loads = 0
    api_restarted = warehouse_killed = False
    try:
        # One step per round, in this order (not on a clock: a slow machine takes longer per round, not
        # fewer faults): a load, the API restarted while the traffic flows, the warehouse killed mid-load;
        # every round then loads again. The API goes first because only it needs the traffic still flowing
        # (on a loaded machine the warehouse's kill and restart can outlast it); the loop runs on after the
        # traffic until the warehouse has been killed.
        while traffic.is_alive() or (api_restarted and not warehouse_killed):
            if loads >= 1 and not api_restarted:
                stack.api.restart()  # clients see refused connections for a moment, then carry on
                api_restarted = True
            elif api_restarted and not warehouse_killed:
                # A load in flight when the warehouse dies fails and leaves nothing half-done behind.
                load = load_in_background(stack)
                time.sleep(2.5)
                stack.kill_warehouse()
                output, _ = load.communicate(timeout=120)
                assert load.returncode != 0, f"a load whose warehouse was killed reported success:\n{output}"
                stack.restart_warehouse()
                warehouse_killed = True
            stack.pulse("extract")
            loads += 1
            time.sleep(2)
    finally:
        traffic.join(timeout=LIVE_SECONDS * 3)
        revoke_keys(stack.store, world.key_ids)
    report = reports[0]
    assert warehouse_killed and api_restarted and loads >= 2
    assert report.server_errors == 0, report.requests
    assert report.vends_created > 50, report.requests

    # The final ELT: extract, then an incremental dbt build, then the platform's own reconciliation.
    stack.pulse("extract")
    stack.pulse("dbt", "build")
    stack.pulse("extract", "reconcile")

    ops = store_totals(stack.store)
    assert ops.rows >= before.rows + report.vends_created  # every acknowledged vend is stored
    hops = warehouse_totals(stack)
    assert hops["raw"] == ops, "raw differs from the operational store"
    assert hops["fact"] == ops, "the fact table differs from the operational store"

    client = stack.warehouse.client()
    fact_reporting = client.query(
        "SELECT count(), sum(amount_reporting) FROM marts.fct_vend_transactions WHERE is_completed"
    ).result_rows[0]
    mart_reporting = client.query(
        "SELECT sum(completed_vends), sum(net_sales_reporting) FROM marts.mart_hospital_commissions_monthly"
    ).result_rows[0]
    assert (int(mart_reporting[0]), Decimal(mart_reporting[1])) == (int(fact_reporting[0]), Decimal(fact_reporting[1]))


def test_second_elt_changes_nothing(stack: Stack) -> None:
    first = warehouse_totals(stack)
    stack.pulse("extract")
    stack.pulse("dbt", "build")
    assert warehouse_totals(stack) == first


def test_warehouse_restart_keeps_its_port(tmp_path: Path) -> None:
    """The fault tests restart the server on the same port and data directory: it must come back."""
    server = WarehouseProcess(home=tmp_path, port=free_port()).start()
    server.client().command("CREATE TABLE t (x UInt8) ENGINE = MergeTree ORDER BY x")
    server.client().command("INSERT INTO t VALUES (1)")
    server.stop(9)
    again = WarehouseProcess(home=tmp_path, port=server.port).start()
    try:
        assert again.client().query("SELECT count() FROM t").result_rows == [(1,)]
    finally:
        again.stop()
