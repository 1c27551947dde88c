"""Engines and transactions for the operational store (SQLite by default, PostgreSQL by URL).

`Store` is the one entry point: the API, the CLI and the simulator open transactions through it.
`Store.write()` is a serialized write transaction: SQLite `BEGIN IMMEDIATE` (one writer at a time, no
mid-transaction lock upgrades, so no spurious "database is locked"), PostgreSQL takes the change_seq
counter's row lock first (see models.base). `Store.read()` is a plain read transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from operational_api.models import lock_change_seq
from pulse.core.secrets import persistent_secret
from pulse.core.settings import Settings, get_settings

SQLITE_BUSY_TIMEOUT_MS = 30_000


def database_url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.ops_database_url:
        return settings.ops_database_url
    return f"sqlite:///{settings.home / 'ops.db'}"


def redacted(url: str) -> str:
    """The URL without its password, fit for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)


def secret_key(settings: Settings | None = None) -> bytes:
    """The PIN pepper: from settings, else generated once per PULSE_HOME (file mode 0600)."""
    settings = settings or get_settings()
    if settings.ops_secret_key:
        return settings.ops_secret_key.get_secret_value().encode()
    return persistent_secret(settings.secrets_dir / "ops_secret_key", nbytes=32).encode()


def make_engine(url: str, *, write: bool, pool_size: int = 8) -> Engine:
    """An engine with Pulse's connection settings; `write=True` for the serialized writer engine."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=pool_size,
            max_overflow=8,
            hide_parameters=True,  # an error logged must not carry what was written (webhook URLs, PIN hashes)
        )
        begin = "BEGIN IMMEDIATE" if write else "BEGIN"

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (below)
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process crashes
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache per connection (indexes stay hot)
            cursor.execute("PRAGMA mmap_size=268435456")
            cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql(begin)

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=8, pool_pre_ping=True, hide_parameters=True)


class Store:
    """The operational store: a serialized writer engine and a reader engine on one database."""

    def __init__(self, url: str | None = None, *, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.url = url or database_url(self.settings)
        self.write_engine = make_engine(self.url, write=True)
        self.read_engine = make_engine(self.url, write=False)
        self._pepper: bytes | None = None
        # SQLite: writers of this process queue on a Python lock rather than in SQLite's busy handler,
        # which sleeps in steps of up to 100 ms (other processes still meet the busy handler).
        self._write_lock: AbstractContextManager[Any] = threading.Lock() if self.dialect == "sqlite" else nullcontext()
        self.key_cache: dict[str, tuple[float, Any]] = {}

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    @property
    def pepper(self) -> bytes:
        if self._pepper is None:
            self._pepper = secret_key(self.settings)
        return self._pepper

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: commits on success, rolls back on any exception."""
        with (
            self._write_lock,
            Session(self.write_engine, expire_on_commit=False, autoflush=False) as session,
            session.begin(),
        ):
            session.info["store"] = self
            lock_change_seq(session.connection())
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.read_engine, expire_on_commit=False) as session, session.begin():
            session.info["store"] = self
            yield session

    def dispose(self) -> None:
        self.write_engine.dispose()
        self.read_engine.dispose()
