"""The end-to-end stack, shared by every e2e module of a test worker (they are one xdist group, "e2e"): a
self-started PostgreSQL operational store with 20 simulated days of the US vending network (the profile that is not
the demo's default, in USD with a share of Canadian and Mexican accounts), the warehouse server and the operational
API.

test_load_and_faults drives live traffic and faults through it and runs the final ELT; the statement and chart
modules then follow the same vends on to the PDFs, the mail sink and Superset without building it all again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from operational_api.db import Store
from operational_api.migrate import upgrade
from pulse.core.settings import Settings
from simulator.config import SimConfig
from simulator.history import run_history
from tests.conftest import WarehouseProcess, free_port
from tests.e2e.stack import ApiProcess, Stack
from tests.pg import PostgresMissing, PostgresServer
from tests.simulator.conftest import END

PROFILE = "us-vending"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    try:
        pg = PostgresServer().start()
    except PostgresMissing as err:
        pytest.fail(str(err))
    home = tmp_path_factory.mktemp("e2e")
    url = pg.create_database("pulse_e2e")
    upgrade(url)
    store = Store(settings=Settings(home=home, ops_database_url=url, demo_profile=PROFILE))
    config = SimConfig(seed=5, days=20, end=END, scale=0.01, profile=PROFILE, mixed_currencies=True)
    run_history(store, store.settings, config, show_progress=False)
    warehouse = WarehouseProcess(home=home, port=free_port()).start()
    api = ApiProcess(home=home, database_url=url, profile=PROFILE).start()
    stack = Stack(home, url, warehouse, api, store)
    yield stack
    if stack.warehouse.process and stack.warehouse.process.poll() is None:
        stack.warehouse.stop()
    api.stop()
    store.dispose()
    pg.stop()
