"""`clickhouse_driver.dbapi` over clickhouse-connect's HTTP client."""

from __future__ import annotations

from typing import Any

from . import connection, cursor, errors, extras
from .connection import Connection
from .errors import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,
)

apilevel = "2.0"
threadsafety = 2
paramstyle = "pyformat"


def connect(
    dsn: str | None = None,
    host: str | None = None,
    user: str = "default",
    password: str = "",
    port: int = 8123,
    database: str = "default",
    **kwargs: Any,
) -> Connection:
    """A connection from a `clickhouse://user:password@host:port/database?settings` DSN or from arguments."""
    if dsn is None and host is None:
        raise ValueError("host or dsn is required")
    return Connection(dsn=dsn, host=host, user=user, password=password, port=port, database=database, **kwargs)


__all__ = [
    "Connection",
    "DataError",
    "DatabaseError",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "Warning",
    "apilevel",
    "connect",
    "connection",
    "cursor",
    "errors",
    "extras",
    "paramstyle",
    "threadsafety",
]
