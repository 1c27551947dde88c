"""dbt benchmark: `dbt build` of the whole project at 1M and 10M vend transactions, and an incremental build
after 10,000 new rows against a full rebuild of the same data, in one run on one embedded warehouse.

A small simulated business provides every table (hospitals, machines, customers, CRM, finance, feeds); the bulk
vends are generated straight into `raw.vend_transactions` with `INSERT ... SELECT FROM numbers()`, shaped like the
simulated ones (their machines, customers and products, prices, ~7% offline, a few failed and refunded, a month
of device times, increasing _change_seq). The incremental step adds 10,000 new vends plus 1% of them as later
versions of existing vends (refunds), as an extract would.

Goal: the full build at 10M within 2 minutes on 2 cores; incremental at most 0.1 of the full rebuild.
dbt's fixed cost per invocation (interpreter and dbt start-up, partial parse, on-run hooks, artifacts; measured as a
build that selects no node) is reported apart, with the ratio without it.

Run: `.venv/bin/python benchmarks/dbt_bench.py [--rows 1000000 --rows 10000000]`
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import clickhouse_connect
import httpx
from clickhouse_connect.driver.client import Client
from rich.console import Console
from rich.table import Table

from extractors.feeds import load_feeds
from extractors.pipeline import extract
from operational_api.migrate import upgrade
from pulse.dbt import run_dbt
from pulse.settings import Settings

console = Console()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_warehouse(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PULSE_HOME": str(home), "PULSE_CLICKHOUSE_URL": f"http://default:@127.0.0.1:{port}"}
    log = open(home / "server.log", "ab")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen([sys.executable, "-m", "warehouse", "serve"], env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ping", timeout=1).text == "Ok.\n":
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("warehouse did not start")


def simulate(settings: Settings) -> None:
    from operational_api.db import Store
    from simulator.config import SimConfig
    from simulator.history import run_history

    upgrade(settings.ops_database_url or f"sqlite:///{settings.home / 'ops.db'}")
    store = Store(settings=settings)
    run_history(store, settings, SimConfig(seed=3, days=30, scale=0.03), show_progress=False)
    store.dispose()


def add_vends(client: Client, rows: int, *, refunds: int = 0) -> None:
    """`rows` new vends (and `refunds` later versions of existing ones), shaped like the simulated vends."""
    top = client.query("SELECT max(_change_seq) FROM raw.vend_transactions").result_rows[0][0]
    existing = client.query("SELECT count() FROM raw.vend_transactions WHERE id LIKE 'bench-%'").result_rows[0][0]
    client.command(
        f"""
        INSERT INTO raw.vend_transactions
        WITH (SELECT groupArray(id) FROM raw.machines FINAL WHERE _is_deleted = 0) AS machines,
             (SELECT groupArray(id) FROM raw.customers FINAL WHERE _is_deleted = 0) AS customers,
             (SELECT groupArray(id) FROM raw.products FINAL WHERE _is_deleted = 0) AS products
        SELECT
            concat('bench-', toString({existing} + number)) AS id,
            machines[1 + (cityHash64(number, 1) % length(machines))],
            customers[1 + (cityHash64(number, 2) % length(customers))],
            products[1 + (cityHash64(number, 3) % length(products))],
            if(cityHash64(number, 4) % 100 < 7, NULL, toInt64(number)),
            toInt32(1 + (cityHash64(number, 5) % 100 < 10)),
            toDecimal64(350 + cityHash64(number, 6) % 5 * 20, 2),
            toDecimal64((350 + cityHash64(number, 6) % 5 * 20) * (1 + (cityHash64(number, 5) % 100 < 10)), 2),
            'RUB',
            if(cityHash64(number, 7) % 1000 < 5, 'failed', 'completed'),
            now64(6, 'UTC') - toIntervalSecond(cityHash64(number, 8) % (30 * 86400)),
            now64(6, 'UTC'),
            cityHash64(number, 4) % 100 < 7,
            now64(6, 'UTC'), now64(6, 'UTC'), NULL,
            toInt64({top} + 1 + number), toUInt64({top} + 1 + number), 0, now64(3, 'UTC')
        FROM numbers({rows})
        """,
        settings={"max_insert_threads": 2},
    )
    if refunds:
        client.command(
            f"""
            INSERT INTO raw.vend_transactions
            SELECT * REPLACE ('refunded' AS status, toInt64({top} + {rows} + rowNumberInAllBlocks() + 1) AS change_seq,
                              toUInt64({top} + {rows} + rowNumberInAllBlocks() + 1) AS _change_seq)
            FROM raw.vend_transactions WHERE id LIKE 'bench-%' AND status = 'completed' LIMIT {refunds}
            """
        )


def timed_build(settings: Settings, *args: str) -> float:
    started = time.perf_counter()
    code = run_dbt(["--quiet", "build", *args], settings)
    if code != 0:
        raise SystemExit(f"dbt build {' '.join(args)} failed ({code})")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, action="append", help="vend rows per step (default 1M and 10M)")
    parser.add_argument("--new-rows", type=int, default=10_000)
    args = parser.parse_args()
    sizes = sorted(args.rows or [1_000_000, 10_000_000])
    with tempfile.TemporaryDirectory(prefix="dbt-bench-") as tmp:
        home = Path(tmp)
        port = free_port()
        server = start_warehouse(home, port)
        settings = Settings(
            home=home,
            ops_database_url=f"sqlite:///{home / 'ops.db'}",
            clickhouse_url=f"http://default:@127.0.0.1:{port}",
        )
        try:
            with console.status("simulating a month and extracting it"):
                simulate(settings)
                extract(settings)
                client = clickhouse_connect.get_client(host="127.0.0.1", port=port, username="default")
                load_feeds(client, settings.resolved_landing_url)
            results = Table(title="dbt build on the embedded warehouse (2 cores)")
            for column in ("step", "vend rows", "seconds", "rows/s"):
                results.add_column(column, justify="right" if column != "step" else "left")
            timed_build(settings)  # warm-up on the simulated data only
            full_seconds = 0.0
            for size in sizes:
                have = client.query("SELECT count() FROM raw.vend_transactions").result_rows[0][0]
                with console.status(f"generating vends up to {size:,}"):
                    add_vends(client, max(size - have, 0))
                total = client.query("SELECT count() FROM raw.vend_transactions").result_rows[0][0]
                full_seconds = timed_build(settings, "--full-refresh")
                results.add_row("full build", f"{total:,}", f"{full_seconds:.1f}", f"{total / full_seconds:,.0f}")
                console.print(results)
            add_vends(client, args.new_rows, refunds=args.new_rows // 100)
            total = client.query("SELECT count() FROM raw.vend_transactions").result_rows[0][0]
            incremental = timed_build(settings)
            results.add_row(f"incremental (+{args.new_rows:,} new, {args.new_rows // 100:,} refunded)", f"{total:,}",
                            f"{incremental:.1f}", "")  # fmt: skip
            rebuild = timed_build(settings, "--full-refresh")
            results.add_row("full rebuild, same data", f"{total:,}", f"{rebuild:.1f}", f"{total / rebuild:,.0f}")
            fixed = min(timed_build(settings, "--select", "tag:pulse_bench_selects_nothing") for _ in range(3))
            results.add_row("dbt fixed cost (start-up, parse, hooks; no node)", "", f"{fixed:.1f}", "")
            console.print(results)
            ratio = incremental / rebuild
            net_ratio = max(incremental - fixed, 0.0) / max(rebuild - fixed, 1e-9)
            console.print(
                f"incremental / full rebuild = [bold]{ratio:.2f}[/bold] (goal <= 0.10); without dbt's fixed cost "
                f"({fixed:.1f} s per invocation) {net_ratio:.2f}; "
                f"full build at {sizes[-1]:,} rows: [bold]{full_seconds:.0f} s[/bold] (goal <= 120 s)"
            )
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(120)


if __name__ == "__main__":
    main()
