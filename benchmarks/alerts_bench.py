"""Alert latency benchmark: from the event (the fifth wrong PIN at a machine, answered by the API) to the alert email
stored by the SMTP sink, with the real processes: `pulse api serve`, `pulse alerts serve` and the embedded sink
(`pulse reports sink`), on a SQLite store. One machine (2 cores).

- Latency: N lockouts one after another (each after a random pause within the interval), each on its own customer;
  for each, the time from the API's answer to
  the fifth wrong PIN until the email's file appears in the outbox (polled every 5 ms), at two evaluation intervals
  (PULSE_ALERTS_INTERVAL_SECONDS: the default 10 s and 1 s). An event lands at a uniformly random point of the
  interval, so the expected wait is half the interval plus the evaluation and the send: the table prints the
  median against that expectation.
- Cost: one evaluation round of every default operational rule (each in its own transaction, findings recorded)
  on a store with simulated history (`--store`, else a fresh `pulse simulate --history` at `--days`/`--scale`),
  in this process: what bounds how small the interval can be. Printed as the share of one core the service
  spends at the default interval.

The strongest alternative the issue names - evaluating from the warehouse after each hourly build, as Superset,
Metabase and Lightdash alert on their warehouse - waits for the next build: 30 minutes on average, at best the
extract-load and build time. The ratio printed is the median latency against half an hour.

Run: `.venv/bin/python benchmarks/alerts_bench.py [--lockouts 10] [--store PATH/ops.db] [--days 120 --scale 0.1]`
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from operational_api.db import Store  # noqa: E402
from operational_api.migrate import upgrade  # noqa: E402
from operational_api.models import utcnow  # noqa: E402
from operational_api.services.alert_conditions import evaluate_operational  # noqa: E402
from operational_api.services.alert_rules import create_defaults, default_rules  # noqa: E402
from pulse.core.settings import Settings  # noqa: E402

console = Console()
PULSE = str(Path(sys.executable).parent / "pulse")
HALF_HOUR = 1800.0


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _seed(store: Store, customers: int) -> tuple[str, list[str]]:
    from operational_api.services import crud
    from operational_api.services.resources import BY_NAME

    with store.write() as s:
        hospital = crud.create_row(s, BY_NAME["hospitals"], {"code": "B1", "name": "Bench Hospital", "city": "Moscow",
                                                             "region": "Moscow", "time_zone": "Europe/Moscow"})  # fmt: skip
        crud.create_row(s, BY_NAME["products"], {"sku": "KIT", "name": "Kit", "kit_type": "scrubs", "size": "M"})
        machine = crud.create_row(s, BY_NAME["machines"], {"serial": "BENCH-1", "hospital_id": hospital.id})
        ids = []
        for index in range(customers):
            row = crud.create_row(s, BY_NAME["customers"], {"client_id": f"B{index:05d}", "full_name": f"Dr {index}",
                                                           "role": "doctor", "pin": "2468", "currency": "RUB"})  # fmt: skip
            ids.append(row.client_id)
        return machine.serial, ids


def latency(interval: float, lockouts: int) -> list[float]:
    """Seconds from each lockout to its email in the outbox."""
    home = Path(tempfile.mkdtemp(prefix="pulse-alerts-bench-"))
    url = f"sqlite:///{home / 'ops.db'}"
    upgrade(url)
    api_port, smtp_port = _free_port(), _free_port()
    settings = Settings(home=home, ops_database_url=url, smtp_port=smtp_port)
    store = Store(settings=settings)
    serial, customers = _seed(store, lockouts)
    from operational_api.services.keys import create_api_key

    with store.write() as s:
        key = create_api_key(s, name="bench", scope="machine")
        create_defaults(s, [r for r in default_rules(settings) if r["kind"] == "pin_lockout"])
    env = {**os.environ, "PULSE_HOME": str(home), "PULSE_OPS_DATABASE_URL": url, "PULSE_API_PORT": str(api_port),
           "PULSE_SMTP_PORT": str(smtp_port), "PULSE_ALERTS_INTERVAL_SECONDS": str(interval)}  # fmt: skip
    processes = [subprocess.Popen([PULSE, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for args in (["reports", "sink"], ["api", "serve"], ["alerts", "serve"])]  # fmt: skip
    outbox = home / "outbox"
    waits: list[float] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=30) as client:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            rng = random.Random(7)
            for index, client_id in enumerate(customers):
                # An event comes at any moment of the service's cycle, not just after a round (as the previous
                # email did): without this wait every lockout would wait a whole interval.
                time.sleep(rng.uniform(0, interval))
                body = {"machine_serial": serial, "client_id": client_id, "pin": "0000", "sku": "KIT", "quantity": 1}
                for _ in range(5):
                    client.post("/v1/vend-authorisations", json=body,
                                headers={"Authorization": f"Bearer {key}"}).raise_for_status()  # fmt: skip
                locked = time.monotonic()
                while len(list(outbox.glob("*.eml"))) <= index:
                    if time.monotonic() - locked > interval * 3 + 30:
                        raise SystemExit(f"no alert email within {interval * 3 + 30:g} s: is the alerts service up?")
                    time.sleep(0.005)
                waits.append(time.monotonic() - locked)
                console.print(f"  interval {interval:g} s, lockout {index + 1}/{lockouts}: {waits[-1]:.2f} s")
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        store.dispose()
        shutil.rmtree(home, ignore_errors=True)
    return waits


def round_cost(store_path: Path | None, days: int, scale: float, rounds: int = 5) -> tuple[float, str]:
    """Median seconds of one evaluation round of the default operational rules, and what the store held."""
    home = Path(tempfile.mkdtemp(prefix="pulse-alerts-cost-"))
    try:
        if store_path is None:
            console.print(f"simulating {days} days at scale {scale} (not timed)...")
            env = {**os.environ, "PULSE_HOME": str(home)}
            subprocess.run([PULSE, "api", "migrate"], env=env, check=True, capture_output=True)
            subprocess.run([PULSE, "simulate", "--history", "--days", str(days), "--scale", str(scale)], env=env,
                           check=True, capture_output=True)  # fmt: skip
        else:
            shutil.copy(store_path, home / "ops.db")
        url = f"sqlite:///{home / 'ops.db'}"
        upgrade(url)
        settings = Settings(home=home, ops_database_url=url)
        store = Store(settings=settings)
        with store.write() as s:
            create_defaults(s, [r for r in default_rules(settings) if r["kind"] != "metric"])
        from sqlalchemy import func, select

        from operational_api.models import Customer, Machine, VendAuthorisation

        with store.read() as s:
            held = (f"{s.scalar(select(func.count()).select_from(VendAuthorisation)):,} authorisations, "
                    f"{s.scalar(select(func.count()).select_from(Customer)):,} customers, "
                    f"{s.scalar(select(func.count()).select_from(Machine)):,} machines")  # fmt: skip
        evaluate_operational(store, utcnow())  # the first round raises what the history left standing
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            evaluate_operational(store, utcnow())
            times.append(time.perf_counter() - started)
        store.dispose()
        return statistics.median(times), held
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lockouts", type=int, default=10)
    parser.add_argument("--store", type=Path, default=None, help="An ops.db with simulated history (copied).")
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--scale", type=float, default=0.1)
    args = parser.parse_args()
    table = Table("evaluation interval", "median s", "p90 s", "max s", "expected s (interval/2)",
                  "median vs warehouse path (1,800 s)")  # fmt: skip
    for interval in (10.0, 1.0):
        waits = sorted(latency(interval, args.lockouts))
        p90 = waits[min(len(waits) - 1, int(len(waits) * 0.9))]
        median = statistics.median(waits)
        table.add_row(f"{interval:g} s", f"{median:.2f}", f"{p90:.2f}", f"{waits[-1]:.2f}", f"{interval / 2:.2f}",
                      f"{HALF_HOUR / median:,.0f}x sooner")  # fmt: skip
    cost, held = round_cost(args.store, args.days, args.scale)
    console.print(table)
    console.print(f"one evaluation round of the default operational rules ({held}): {cost * 1000:.1f} ms, "
                  f"{cost / 10.0:.2%} of one core at the default 10 s interval")  # fmt: skip


if __name__ == "__main__":
    main()
