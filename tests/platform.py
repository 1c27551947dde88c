"""A simulated operational store (a real SQLite file) and a fresh warehouse server per test: `platform`."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from operational_api.db import Store
from pulse.core.settings import Settings
from tests.conftest import WarehouseProcess
from tests.simulator.conftest import simulate


@dataclass
class Platform:
    """An operational store with simulated history, its landing feeds, and an empty warehouse."""

    settings: Settings
    store: Store
    warehouse: WarehouseProcess

    def client(self):  # type: ignore[no-untyped-def]
        return self.warehouse.client()


@pytest.fixture(scope="session")
def simulated_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A month of a small business with some bad feed rows and a share of its accounts and deals in foreign
    currencies, simulated once per test worker."""
    home = tmp_path_factory.mktemp("simulated")
    sim = simulate(home, seed=7, days=30, scale=0.03, bad_rows=True, mixed_currencies=True)
    sim.store.dispose()  # leaves a checkpointed, closed SQLite file to copy
    return home


@pytest.fixture
def platform(
    simulated_home: Path, tmp_path: Path, new_warehouse: Callable[..., WarehouseProcess]
) -> Iterator[Platform]:
    home = tmp_path / "home"
    shutil.copytree(simulated_home, home)
    server = new_warehouse()
    settings = Settings(
        home=home,
        ops_database_url=f"sqlite:///{home / 'ops.db'}",
        clickhouse_url=server.admin_url,
        warehouse_reader_password=(server.home / "secrets" / "warehouse_reader_password").read_text().strip(),
    )
    store = Store(settings=settings)
    yield Platform(settings, store, server)
    store.dispose()
