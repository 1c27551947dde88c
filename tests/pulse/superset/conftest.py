"""One real Superset (gunicorn from .venv-superset, SQLite metadata in a temporary PULSE_HOME) against a real
warehouse whose marts dbt built from a simulated business, shared by every Superset test of a worker.

Superset's metadata initialisation and start (about a minute) run in a thread while the marts are built.
Tests that need the dashboards use `imported`, which imports `superset_assets/` once into the empty Superset.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from extractors.feeds import load_feeds
from extractors.pipeline import extract
from operational_api.db import Store
from operational_api.models import Invoice, InvoiceRefusal
from pulse.core.settings import Settings
from pulse.dbt.runner import run_dbt
from pulse.superset import runtime as superset_runtime
from pulse.superset.api import SupersetClient
from pulse.superset.assets import ASSETS_DIR, ImportSummary, import_assets, load_assets
from pulse.superset.security import demo_password
from tests.conftest import SUPERSET_PYTHON, WarehouseProcess, free_port


@dataclass
class SupersetStack:
    settings: Settings
    warehouse: WarehouseProcess
    clients: dict[str, SupersetClient] = field(default_factory=dict)  # one signed-in session per user
    _warehouse_client: Any = None

    def admin(self) -> SupersetClient:
        if "" not in self.clients:
            self.clients[""] = superset_runtime.connect(self.settings)
        return self.clients[""]

    def login(self, username: str) -> SupersetClient:
        if username not in self.clients:
            password = demo_password(self.settings, username)
            self.clients[username] = SupersetClient(superset_runtime.base_url(self.settings), username, password)
        return self.clients[username]

    def warehouse_client(self) -> Any:
        if self._warehouse_client is None:
            self._warehouse_client = self.warehouse.client()
        return self._warehouse_client

    @property
    def url(self) -> str:
        return superset_runtime.base_url(self.settings)


def dispute_one_invoice(settings: Settings) -> None:
    """A month of history may hold no refusal to pay yet (insurers answer within weeks of the 3rd's invoicing): a
    partner's dispute of the first receivable invoice, written through the ORM, gives the refusal charts a row
    whatever day the month ends on."""
    store = Store(settings=settings)
    try:
        with store.write() as session:
            invoice = session.scalars(
                select(Invoice).where(Invoice.direction == "receivable").order_by(Invoice.id).limit(1)
            ).one()
            if not session.scalars(select(InvoiceRefusal).where(InvoiceRefusal.invoice_id == invoice.id)).first():
                session.add(
                    InvoiceRefusal(invoice_id=invoice.id, refused_on=invoice.issued_on, currency=invoice.currency,
                                   amount=(invoice.amount / 10).quantize(Decimal("0.01")), reason="price_dispute")
                )  # fmt: skip
    finally:
        store.dispose()


def build_marts(settings: Settings, warehouse: WarehouseProcess) -> None:
    dispute_one_invoice(settings)
    extract(settings)
    load_feeds(warehouse.client(), settings.resolved_landing_url)
    # `dbt run`, not `build`: the marts are what Superset reads; their dbt tests run in tests/dbt.
    if run_dbt(["run", "--quiet"], settings) != 0:
        raise RuntimeError("dbt run failed: the marts the dashboards read are missing")


@pytest.fixture(scope="session")
def superset_stack(simulated_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SupersetStack]:
    if not SUPERSET_PYTHON.exists():
        pytest.fail(f"{SUPERSET_PYTHON} is missing: run `make install` to create .venv-superset")
    home = tmp_path_factory.mktemp("superset-stack") / "home"
    shutil.copytree(simulated_home, home)
    warehouse = WarehouseProcess(home=home, port=free_port()).start()
    settings = Settings(
        home=home,
        ops_database_url=f"sqlite:///{home / 'ops.db'}",
        clickhouse_url=f"http://default:@127.0.0.1:{warehouse.port}",
        superset_port=free_port(),
        superset_workers=1,
    )
    failures: list[BaseException] = []

    def start_superset() -> None:
        try:
            superset_runtime.init(settings)
            superset_runtime.start(settings)
        except BaseException as err:  # re-raised in the test thread below
            failures.append(err)

    starting = threading.Thread(target=start_superset, name="superset-start")
    starting.start()
    stack = SupersetStack(settings, warehouse)
    try:
        build_marts(settings, warehouse)
        starting.join()
        if failures:
            raise failures[0]
        yield stack
    finally:
        starting.join()
        for client in stack.clients.values():
            client.close()
        superset_runtime.stop(settings)
        warehouse.stop()


@dataclass(frozen=True)
class Imported:
    before: dict[str, int]  # objects in Superset before the first import
    summary: ImportSummary
    assets_files: dict[str, dict[str, Any]]


def count_objects(client: SupersetClient) -> dict[str, int]:
    return {kind: sum(1 for _ in client.listing(kind)) for kind in ("database", "dataset", "chart", "dashboard")}


@pytest.fixture(scope="session")
def imported(superset_stack: SupersetStack) -> Imported:
    """superset_assets/ imported once into the empty Superset (roles, RLS and demo users included)."""
    admin = superset_stack.admin()
    before = count_objects(admin)
    summary = import_assets(admin, superset_stack.settings)
    return Imported(before, summary, load_assets(ASSETS_DIR).files)


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where dashboard screenshots are kept for a person to look at (PULSE_TEST_ARTIFACTS: somewhere permanent)."""
    chosen = os.environ.get("PULSE_TEST_ARTIFACTS")
    path = Path(chosen) / "superset" if chosen else tmp_path_factory.mktemp("superset-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def chart_ids(client: SupersetClient, files: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Superset's chart id for every chart file, by its name in superset_assets/charts/ (`exec_kits_sold`)."""
    by_uuid = {str(c["uuid"]): c["id"] for c in client.listing("chart")}
    return {
        Path(path).stem: by_uuid[str(config["uuid"])]
        for path, config in files.items()
        if path.startswith("charts/") and str(config["uuid"]) in by_uuid
    }


@pytest.fixture(scope="session")
def charts(superset_stack: SupersetStack, imported: Imported) -> dict[str, int]:
    """Chart ids by file name, after the import (ids never change once a chart exists)."""
    return chart_ids(superset_stack.admin(), imported.assets_files)
