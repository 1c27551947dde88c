"""The history run on PostgreSQL: same rows as on SQLite for a seed, and the API can write afterwards
(the id sequences were moved past the ids the history wrote)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from operational_api import models as m
from operational_api.services import crud
from operational_api.services.resources import BY_NAME
from tests.pg import PostgresServer, running_postgres
from tests.simulator.conftest import simulate
from tests.simulator.test_determinism import snapshot

pytestmark = pytest.mark.xdist_group("pg")


@pytest.fixture(scope="module")
def pg_server() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


def test_history_on_postgres_matches_sqlite(pg_server: PostgresServer, tmp_path: Path) -> None:
    on_pg = simulate(tmp_path / "pg", url=pg_server.create_database("sim_history"), seed=9, days=20, scale=0.01)
    on_sqlite = simulate(tmp_path / "sqlite", seed=9, days=20, scale=0.01)
    try:
        pg_rows, sqlite_rows = snapshot(on_pg), snapshot(on_sqlite)
        for table in sqlite_rows:
            assert pg_rows[table] == sqlite_rows[table], table
        with on_pg.store.write() as session:
            hospital = crud.create_row(session, BY_NAME["hospitals"], {
                "code": "NEW", "name": "New", "city": "Омск", "region": "Омская область", "time_zone": "Asia/Omsk"})  # fmt: skip
            top = session.execute(select(func.max(m.Hospital.id))).scalar_one()
        assert hospital.id == top and hospital.id > 2
    finally:
        on_pg.store.dispose()
        on_sqlite.store.dispose()
