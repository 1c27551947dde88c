"""Dashboard benchmark: chart-data latency of every chart in superset_assets/ through Superset, cold (cache
bypassed, `force=true`) and cached, against the same SQL run directly on the warehouse, in one run.

The marts: dbt builds them from a simulated business (as benchmarks/dbt_bench.py does), then the business is
replicated F times inside the warehouse (every entity id shifted per copy, its names suffixed, dates kept), F
chosen so the largest mart has --rows rows (10M): a business F times bigger, every mart in proportion (the
per-day company KPIs keep one row per day). Superset (gunicorn, PULSE_SUPERSET_WORKERS workers) serves the
imported dashboards as the administrator, no row-level security in the way.

Per chart, interleaved --repeat times after one warm-up of each: the SQL Superset generates (the chart-data
API's `type=query`) run with clickhouse-connect as the same read-only user and fully fetched (direct); Superset's
`GET /api/v1/chart/<id>/data/?force=true` (cold: SQL generation, the query, post-processing, JSON); the same
without force (cached). Then every dashboard's charts at once, cold, as a browser asks for them.

Goal: p95 below 1 s cold, and Superset at most 1.5x the direct query.

Run: `.venv/bin/python benchmarks/dashboard_bench.py [--rows 10000000] [--repeat 5]`
"""

from __future__ import annotations

import argparse
import math
import socket
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from rich.console import Console
from rich.table import Table

from extractors.feeds import load_feeds
from extractors.pipeline import extract
from operational_api.migrate import upgrade
from pulse.core.settings import READER_USER, Settings
from pulse.dbt.runner import run_dbt
from pulse.superset import runtime as superset_runtime
from pulse.superset.api import SupersetClient
from pulse.superset.assets import import_assets, load_assets
from warehouse.embedded import server as warehouse_server

console = Console()

ID = "{col} + toInt64({k}) * 1000000000"
LABEL = "if({k} = 0, {col}, concat({col}, ' #', toString({k})))"
# The entities each mart is about: shifted per copy of the business, everything else copied as it is.
ENTITIES: dict[str, dict[str, str]] = {
    "mart_vending_daily": {"machine_id": ID, "machine_serial": LABEL, "hospital_id": ID, "hospital_name": LABEL},
    "mart_customer_spend_monthly": {"customer_id": ID, "client_id": LABEL},
    "mart_hospital_commissions_monthly": {"hospital_id": ID, "hospital_code": LABEL, "hospital_name": LABEL},
    "mart_call_centre_daily": {"operator_id": ID, "operator_name": LABEL},
    "mart_funnel": {"campaign_id": ID, "campaign_name": LABEL},
    "mart_marketing_spend": {"campaign_id": ID, "campaign_name": LABEL},
    "mart_receivables": {
        "invoice_id": ID,
        "invoice_number": LABEL,
        "counterparty_id": ID,
        "counterparty_name": LABEL,
    },
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build_marts(settings: Settings, client: Client) -> None:
    from operational_api.db import Store
    from simulator.config import SimConfig
    from simulator.history import run_history

    upgrade(settings.ops_database_url or f"sqlite:///{settings.home / 'ops.db'}")
    store = Store(settings=settings)
    run_history(store, settings, SimConfig(seed=3, days=60, scale=0.05), show_progress=False)
    store.dispose()
    extract(settings)
    load_feeds(client, settings.resolved_landing_url)
    if run_dbt(["--quiet", "run"], settings) != 0:
        raise SystemExit("dbt run failed")


def count(client: Client, table: str) -> int:
    return int(client.query(f"SELECT count() FROM marts.{table}").result_rows[0][0])


def replicate_business(client: Client, rows: int) -> int:
    """Copy every mart's rows F-1 more times with shifted entities; F makes the largest mart `rows` long."""
    copies = math.ceil(rows / max(count(client, t) for t in ENTITIES))
    for table, shifts in ENTITIES.items():
        columns = [r[0] for r in client.query(
            "SELECT name FROM system.columns WHERE database = 'marts' AND table = {t:String} ORDER BY position",
            parameters={"t": table},
        ).result_rows]  # fmt: skip
        select = ", ".join(shifts.get(c, "{col}").format(col=f"b.`{c}`", k="c.number") for c in columns)
        names = ", ".join(f"`{c}`" for c in columns)
        client.command(
            f"INSERT INTO marts.{table} ({names}) SELECT {select} FROM marts.{table} AS b"
            f" CROSS JOIN numbers(1, {copies - 1}) AS c",
            settings={"max_insert_threads": 2},
        )
    return copies


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of the largest mart")
    parser.add_argument("--repeat", type=int, default=5, help="measurements per chart and mode")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dashboard-bench-") as tmp:
        home = Path(tmp)
        port = free_port()
        settings = Settings(
            home=home,
            ops_database_url=f"sqlite:///{home / 'ops.db'}",
            clickhouse_url=f"http://default:@127.0.0.1:{port}",
            superset_port=free_port(),
        )
        warehouse_server.start(settings)
        try:
            admin_sql = clickhouse_connect.get_client(
                host="127.0.0.1", port=port, username="default", password=settings.admin_password()
            )
            with console.status("simulating a business, building its marts"):
                build_marts(settings, admin_sql)
            with console.status(f"replicating the business up to {args.rows:,} rows in the largest mart"):
                copies = replicate_business(admin_sql, args.rows)
            sizes = {t: count(admin_sql, t) for t in [*ENTITIES, "mart_executive_kpis_daily"]}
            console.print(
                f"business replicated {copies:,} times; marts: "
                + ", ".join(f"{t.removeprefix('mart_')} {n:,}" for t, n in sizes.items())
            )
            with console.status("starting Superset and importing the dashboards"):
                superset_runtime.init(settings)
                superset_runtime.start(settings)
                admin = superset_runtime.connect(settings)
                import_assets(admin, settings)
            direct = clickhouse_connect.get_client(
                host="127.0.0.1", port=port, username=READER_USER, password=settings.reader_password(), database="marts"
            )
            measure(admin, direct, settings, args.repeat)
        finally:
            superset_runtime.stop(settings)
            warehouse_server.stop(settings)


def measure(admin: SupersetClient, direct: Client, settings: Settings, repeat: int) -> None:
    assets = load_assets()
    by_uuid = {str(c["uuid"]): c for c in admin.listing("chart")}
    charts = {
        Path(path).stem: by_uuid[str(config["uuid"])]["id"]
        for path, config in sorted(assets.files.items())
        if path.startswith("charts/")
    }
    results: dict[str, dict[str, list[float]]] = {}
    rows: dict[str, int] = {}
    with console.status(f"measuring {len(charts)} charts x {repeat}") as status:
        for n, (name, chart_id) in enumerate(charts.items(), 1):
            status.update(f"measuring chart {n}/{len(charts)}: {name}")
            sql = admin.chart_data(chart_id, result_type="query")[0]["query"].strip().rstrip(";")
            rows[name] = len(direct.query(sql).result_rows)
            admin.chart_data(chart_id, force=True)  # warm-up: metadata caches, connection pool
            samples: dict[str, list[float]] = {"direct": [], "cold": [], "cached": []}
            for _ in range(repeat):
                samples["direct"].append(timed(partial(direct.query, sql)))
                samples["cold"].append(timed(partial(admin.chart_data, chart_id, force=True)))
                samples["cached"].append(timed(partial(admin.chart_data, chart_id)))
            results[name] = samples

    table = Table(title="chart data, ms (p50 / p95)", show_lines=False)
    for column in ("chart", "rows", "direct", "Superset cold", "Superset cached", "cold / direct"):
        table.add_column(column, justify="left" if column == "chart" else "right")
    for name, s in results.items():
        ratio = statistics.median(s["cold"]) / statistics.median(s["direct"])
        table.add_row(
            name,
            f"{rows[name]:,}",
            f"{ms(statistics.median(s['direct']))} / {ms(p(s['direct'], 0.95))}",
            f"{ms(statistics.median(s['cold']))} / {ms(p(s['cold'], 0.95))}",
            f"{ms(statistics.median(s['cached']))} / {ms(p(s['cached'], 0.95))}",
            f"{ratio:.2f}",
        )
    console.print(table)

    every = {mode: [x for s in results.values() for x in s[mode]] for mode in ("direct", "cold", "cached")}
    dashboards = dashboard_loads(admin, assets.files, charts, repeat)
    summary = Table(title="all charts, ms")
    for column in ("mode", "p50", "p95", "max"):
        summary.add_column(column, justify="left" if column == "mode" else "right")
    for mode, label in (("direct", "direct SQL"), ("cold", "Superset cold"), ("cached", "Superset cached")):
        values = every[mode]
        summary.add_row(label, ms(statistics.median(values)), ms(p(values, 0.95)), ms(max(values)))
    console.print(summary)
    by_mart = Table(title="by dataset, ms (p95)")
    for column in ("dataset", "charts", "direct", "Superset cold", "Superset cached"):
        by_mart.add_column(column, justify="left" if column == "dataset" else "right")
    datasets = {str(c["uuid"]): c["table_name"] for path, c in assets.files.items() if path.startswith("datasets/")}
    groups: dict[str, list[str]] = {}
    for name in results:
        groups.setdefault(datasets[str(assets.files[f"charts/{name}.yaml"]["dataset_uuid"])], []).append(name)
    for dataset, names in sorted(groups.items()):
        pooled = {mode: [x for n in names for x in results[n][mode]] for mode in ("direct", "cold", "cached")}
        by_mart.add_row(dataset, str(len(names)), *(ms(p(pooled[m], 0.95)) for m in ("direct", "cold", "cached")))
    console.print(by_mart)
    board = Table(title="a whole dashboard, cold, all charts at once (s)")
    for column in ("dashboard", "charts", "p50", "max"):
        board.add_column(column, justify="left" if column == "dashboard" else "right")
    for slug, (n, loads) in dashboards.items():
        board.add_row(slug, str(n), f"{statistics.median(loads):.2f}", f"{max(loads):.2f}")
    console.print(board)

    ratios = [statistics.median(s["cold"]) / statistics.median(s["direct"]) for s in results.values()]
    added = [statistics.median(s["cold"]) - statistics.median(s["direct"]) for s in results.values()]
    p95_cold = p(every["cold"], 0.95)
    overall = p(every["cold"], 0.95) / p(every["direct"], 0.95)
    console.print(
        f"Superset cold p95 [bold]{ms(p95_cold)} ms[/bold] (goal < 1,000); cold / direct: p95 {overall:.2f}x, "
        f"median chart {statistics.median(ratios):.2f}x, worst chart {max(ratios):.2f}x (goal <= 1.5x); "
        f"Superset adds {ms(statistics.median(added))} ms per chart (median); "
        f"cached p50 {ms(statistics.median(every['cached']))} ms; workers {settings.superset_workers}"
    )


def dashboard_loads(
    admin: SupersetClient, files: dict[str, dict[str, Any]], charts: dict[str, int], repeat: int
) -> dict[str, tuple[int, list[float]]]:
    """Each dashboard's charts requested at once (force=true), as the browser does; wall time per load."""
    ids_by_uuid = {str(files[f"charts/{name}.yaml"]["uuid"]): chart_id for name, chart_id in charts.items()}
    loads: dict[str, tuple[int, list[float]]] = {}
    with ThreadPoolExecutor(max_workers=8) as pool:
        for path, dashboard in sorted(files.items()):
            if not path.startswith("dashboards/"):
                continue
            ids = [
                ids_by_uuid[node["meta"]["uuid"]]
                for node in dashboard["position"].values()
                if isinstance(node, dict) and node.get("type") == "CHART"
            ]
            walls = []
            for _ in range(repeat):
                started = time.perf_counter()
                list(pool.map(lambda cid: admin.chart_data(cid, force=True), ids))
                walls.append(time.perf_counter() - started)
            loads[dashboard["slug"]] = (len(ids), walls)
    return loads


if __name__ == "__main__":
    main()
