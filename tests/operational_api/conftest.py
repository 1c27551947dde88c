"""Fixtures: a migrated store on SQLite (a file in tmp_path) or on a real PostgreSQL server this
harness starts itself, API keys of every scope, and an in-process client of the API."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from operational_api.app import create_app
from operational_api.db import Store
from operational_api.migrate import upgrade
from pulse.core.settings import Settings
from tests.operational_api.factories import keys_for_every_scope
from tests.pg import PostgresServer, running_postgres

PG_TEMPLATE = "pulse_template"
BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("pg", id="pg", marks=pytest.mark.xdist_group("pg"))]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        upgrade(server.create_database(PG_TEMPLATE))
        yield server


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "ops.db"
    upgrade(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def fresh_database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        target = tmp_path / "ops.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.create_database(f"t_{uuid.uuid4().hex[:12]}", template=PG_TEMPLATE)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return fresh_database(backend, request, tmp_path)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(home=tmp_path / "home", ops_database_url=db_url, api_max_body_bytes=4 * 1024**2)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    store = Store(settings=settings)
    yield store
    store.dispose()


@pytest.fixture
def keys(store: Store) -> dict[str, str]:
    with store.write() as session:
        return keys_for_every_scope(session)


@dataclass
class Api:
    client: TestClient
    keys: dict[str, str]

    def headers(self, scope: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[scope]}", **extra}


@pytest.fixture(scope="session")
def shared_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """One app for the session (building one takes ~0.5 s); each test points it at its own store."""
    home = tmp_path_factory.mktemp("app-home")
    url = f"sqlite:///{home / 'unused.db'}"
    return create_app(
        store=Store(url), settings=Settings(home=home, ops_database_url=url, api_max_body_bytes=4 * 1024**2)
    )


@pytest.fixture
def api(shared_app: FastAPI, store: Store, keys: dict[str, str]) -> Iterator[Api]:
    shared_app.state.store = store
    with TestClient(shared_app, raise_server_exceptions=False) as client:
        yield Api(client, keys)
