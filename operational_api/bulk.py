"""Bulk inserts for the ingestion hot path: SQLite `executemany` of plain tuples, PostgreSQL one
`INSERT ... SELECT * FROM unnest(arrays)`; no per-row SQLAlchemy type processing (which costs more than the insert itself at 10^4 rows/s). Values are converted here
exactly as SQLAlchemy would store them for this schema's column types, so rows written either way
read back the same."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Numeric, Table
from sqlalchemy.engine import Connection

from operational_api.models.base import UTC, UTCDateTime

Convert = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _sqlite_datetime(value: dt.datetime | None) -> str | None:
    """SQLAlchemy's SQLite storage format for UTCDateTime: naive UTC, 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.isoformat(" ", "microseconds")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]  # drop "+00:00"


def _sqlite_date(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _sqlite_decimal(value: Decimal | None) -> float | None:
    return None if value is None else float(value)  # what SQLAlchemy binds for Numeric on SQLite


def _sqlite_bool(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _pg_datetime(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _converter(column_type: Any, dialect: str) -> Convert:
    if isinstance(column_type, JSON) or isinstance(getattr(column_type, "impl", None), JSON):
        raise TypeError("bulk_insert does not handle JSON columns; use a Core insert")
    if dialect == "sqlite":
        if isinstance(column_type, UTCDateTime):
            return _sqlite_datetime
        if isinstance(column_type, Boolean):
            return _sqlite_bool
        if isinstance(column_type, Numeric):
            return _sqlite_decimal
        if isinstance(column_type, Date):
            return _sqlite_date
        return _identity
    if isinstance(column_type, UTCDateTime):
        return _pg_datetime
    return _identity


_SQL_CACHE: dict[tuple[str, str, tuple[str, ...], str | None], tuple[str, list[Convert]]] = {}


def bulk_insert(
    conn: Connection, table: Table, rows: list[dict[str, Any]], *, skip_conflicts_on: str | None = None
) -> int:
    """INSERT all `rows` (dicts with the same keys) in one statement; with `skip_conflicts_on`,
    rows whose key already exists are skipped (ON CONFLICT (key) DO NOTHING) instead of failing.
    Returns the number of rows inserted."""
    if not rows:
        return 0
    dialect = conn.dialect.name
    columns = tuple(rows[0])
    cache_key = (dialect, table.name, columns, skip_conflicts_on)
    cached = _SQL_CACHE.get(cache_key)
    if cached is None:
        if dialect == "sqlite":
            sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(['?'] * len(columns))})"
        else:
            # PostgreSQL: one array parameter per column, unnested server-side: one round trip and one
            # plan, far cheaper than executemany or long multi-row VALUES lists.
            casts = [table.c[name].type.compile(dialect=conn.dialect) for name in columns]
            arrays = ", ".join(f"%s::{cast}[]" for cast in casts)
            sql = f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({arrays})"
        if skip_conflicts_on is not None:
            sql += f" ON CONFLICT ({skip_conflicts_on}) DO NOTHING"
        cached = (sql, [_converter(table.c[name].type, dialect) for name in columns])
        _SQL_CACHE[cache_key] = cached
    sql, converters = cached
    value_columns: list[list[Any]] = []
    for name, convert in zip(columns, converters, strict=True):
        values = [row[name] for row in rows]
        if convert is not _identity:
            memo: dict[Any, Any] = {}  # many rows share a timestamp (received_at, created_at, ...)
            converted = []
            for value in values:
                out = memo.get(value, memo)
                if out is memo:
                    out = memo[value] = convert(value)
                converted.append(out)
            values = converted
        value_columns.append(values)
    if dialect == "sqlite":
        params = list(zip(*value_columns, strict=True))
        result = conn.exec_driver_sql(sql, params)  # sqlite3's executemany: one prepared statement
        return int(result.rowcount)
    return int(conn.exec_driver_sql(sql, tuple(value_columns)).rowcount)
