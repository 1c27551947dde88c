"""Extract-load from PostgreSQL (read in-process through ADBC, inside one snapshot): raw equals the store row by
row, in several pages and inserts per batch, and a second run sends only what changed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from extractors.pipeline import extract
from operational_api.models import Hospital
from tests.conftest import WarehouseProcess
from tests.extractors.test_extract import assert_raw_equals_operational
from tests.pg import PostgresServer, running_postgres
from tests.platform import Platform
from tests.simulator.conftest import simulate

pytestmark = pytest.mark.xdist_group("pg")


@pytest.fixture(scope="module")
def pg_server() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


def test_postgres_store_extracts_exactly(
    pg_server: PostgresServer, tmp_path: Path, new_warehouse: Callable[..., WarehouseProcess]
) -> None:
    url = pg_server.create_database("extract_source")
    sim = simulate(tmp_path / "home", url=url, seed=5, days=10, scale=0.01)
    warehouse = new_warehouse()
    settings = sim.settings.model_copy(
        update={
            "clickhouse_url": warehouse.admin_url,
            "extract_batch_rows": 300,  # several batches, pages and inserts per table
            "extract_insert_rows": 120,
        }
    )
    platform = Platform(settings, sim.store, warehouse)
    try:
        first = extract(settings)
        assert sum(r.rows for r in first) > 1_000
        assert max(r.batches for r in first) > 1
        assert_raw_equals_operational(platform)
        with sim.store.write() as session:
            for hospital in session.scalars(select(Hospital).limit(2)):
                hospital.name = hospital.name + " (renamed)"
        second = extract(settings)
        assert {r.table: r.rows for r in second if r.rows} == {"hospitals": 2}
        assert_raw_equals_operational(platform)
    finally:
        sim.store.dispose()
