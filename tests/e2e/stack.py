"""The platform as separate real processes for end-to-end tests: PostgreSQL as the operational store,
the warehouse server, the operational API, and the `pulse` CLI run the way Airflow's tasks run it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import func, select

from operational_api import models as m
from operational_api.db import Store
from pulse.core.settings import Settings
from tests.conftest import WarehouseProcess, free_port


@dataclass
class ApiProcess:
    """A real `pulse api serve` on its own port; `restart()` is what an operator's deploy does."""

    home: Path
    database_url: str
    profile: str  # PULSE_DEMO_PROFILE: the business whose settings the API runs with
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "PULSE_HOME": str(self.home), "PULSE_OPS_DATABASE_URL": self.database_url,
                "PULSE_API_HOST": "127.0.0.1", "PULSE_API_PORT": str(self.port), "PULSE_DEMO_PROFILE": self.profile}  # fmt: skip

    def start(self) -> ApiProcess:
        log = open(self.home / "api.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen([sys.executable, "-m", "pulse", "api", "serve"], env=self.env, stdout=log,
                                        stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the API exited: {(self.home / 'api.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the API did not answer /healthz")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(60)

    def restart(self) -> None:
        self.stop()
        self.start()


@dataclass
class Stack:
    home: Path
    database_url: str
    warehouse: WarehouseProcess
    api: ApiProcess
    store: Store
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. where the CLI's reports are mailed

    @property
    def settings(self) -> Settings:
        return Settings(home=self.home, ops_database_url=self.database_url, clickhouse_url=self.clickhouse_url,
                        api_host="127.0.0.1", api_port=self.api.port, demo_profile=self.api.profile)  # fmt: skip

    @property
    def clickhouse_url(self) -> str:
        return f"http://default:@127.0.0.1:{self.warehouse.port}"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "PULSE_HOME": str(self.home), "PULSE_OPS_DATABASE_URL": self.database_url,
                "PULSE_CLICKHOUSE_URL": self.clickhouse_url, "PULSE_DEMO_PROFILE": self.api.profile,
                **self.extra_env}  # fmt: skip

    def pulse(self, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """Run the CLI in its own process, as an Airflow task would."""
        done = subprocess.run([sys.executable, "-m", "pulse", *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)  # fmt: skip
        if check and done.returncode != 0:
            raise AssertionError(
                f"pulse {' '.join(args)} exited {done.returncode}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
            )
        return done

    def kill_warehouse(self) -> None:
        self.warehouse.stop(signal.SIGKILL)

    def restart_warehouse(self) -> None:
        """A new server process on the same data directory and port (what a supervisor does after a crash)."""
        self.warehouse = WarehouseProcess(home=self.warehouse.home, port=self.warehouse.port).start()


@dataclass(frozen=True)
class VendTotals:
    """Completed vends: how many, how many distinct, and their amount (to the cent)."""

    rows: int
    distinct: int
    amount: Decimal


def store_totals(store: Store) -> VendTotals:
    with store.read() as session:
        rows, amount = session.execute(
            select(func.count(), func.coalesce(func.sum(m.VendTransaction.amount), 0)).where(
                m.VendTransaction.status == "completed", m.VendTransaction.deleted_at.is_(None)
            )
        ).one()
    return VendTotals(int(rows), int(rows), Decimal(amount))  # the primary key makes every row distinct


def warehouse_totals(stack: Stack) -> dict[str, VendTotals]:
    """Completed vends in raw (latest versions, tombstones left out) and in the fact table."""
    client = stack.warehouse.client()
    raw = client.query(
        "SELECT count(), uniqExact(id), sum(amount) FROM raw.vend_transactions FINAL "
        "WHERE NOT _is_deleted AND status = 'completed'"
    ).result_rows[0]
    fact = client.query(
        "SELECT count(), uniqExact(vend_transaction_id), sum(amount) FROM marts.fct_vend_transactions "
        "WHERE is_completed"
    ).result_rows[0]
    return {name: VendTotals(int(r[0]), int(r[1]), Decimal(r[2])) for name, r in (("raw", raw), ("fact", fact))}
