"""A DB-API cursor: pyformat parameters substituted client-side (as clickhouse_driver does), one HTTP request
per statement; statements that return rows go through `query`, the others through `command`."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError, DatabaseError
from clickhouse_connect.driver.exceptions import OperationalError as HttpError

from . import errors

if TYPE_CHECKING:
    from .connection import Connection

RETURNS_ROWS = re.compile(r"^\s*(?:\(\s*)*(SELECT|WITH|SHOW|DESCRIBE|DESC|EXISTS|EXPLAIN)\b", re.I)
CODE = re.compile(r"Code: (\d+)\.")

Description = tuple[str, str, None, None, None, None, bool]


def escape(value: Any) -> str:
    """A literal for `value`, as clickhouse_driver's `escape_param` renders it."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return f"'{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"'{value.isoformat()}'"
    if isinstance(value, uuid.UUID):
        return f"'{value}'"
    if isinstance(value, list):
        return "[" + ", ".join(escape(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(escape(v) for v in value) + ")"
    if isinstance(value, bytes):
        value = value.decode()
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def substitute(operation: str, parameters: Mapping[str, Any] | Sequence[Any] | None) -> str:
    if parameters is None:
        return operation
    if isinstance(parameters, Mapping):
        return operation % {k: escape(v) for k, v in parameters.items()}
    return operation % tuple(escape(v) for v in parameters)


def translate(ex: Exception) -> errors.Error:
    """clickhouse-connect's exceptions as the DB-API classes, the message starting `Code: N.` as the native
    driver's do (dlt reads the code from there)."""
    text = str(ex)
    match = CODE.search(text)
    message = text[match.start() :].strip() if match else text
    if isinstance(ex, HttpError) and not match:
        return errors.OperationalError(message)
    if isinstance(ex, DatabaseError | ClickHouseError):
        return errors.OperationalError(message)
    return errors.InterfaceError(message)


class Cursor:
    arraysize = 1

    def __init__(self, client: Client, connection: Connection) -> None:
        self._client = client
        self.connection = connection
        self._rows: list[tuple[Any, ...]] = []
        self._position = 0
        self._columns: list[str] = []
        self._types: list[str] = []
        self._rowcount = -1
        self._settings: dict[str, Any] = {}
        self._query_id: str | None = None
        self._closed = False
        self._has_result = False

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while (row := self.fetchone()) is not None:
            yield row

    @property
    def description(self) -> list[Description] | None:
        if not self._has_result:
            return None  # a statement without a result set
        return [
            (name, type_, None, None, None, None, True) for name, type_ in zip(self._columns, self._types, strict=True)
        ]

    @property
    def rowcount(self) -> int:
        return self._rowcount

    def columns_with_types(self) -> list[tuple[str, str]] | None:
        return list(zip(self._columns, self._types, strict=True)) if self._columns else None

    def close(self) -> None:
        self._closed = True
        self._rows = []

    def set_settings(self, settings: dict[str, Any]) -> None:
        self._settings = dict(settings)

    def set_query_id(self, query_id: str) -> None:
        self._query_id = query_id

    def set_stream_results(self, stream_results: bool, max_row_buffer: int) -> None:
        """Results are fetched whole; streaming is not needed by dlt's SQL."""

    def set_types_check(self, types_check: bool) -> None:
        """Client-side type checks do not apply: parameters are rendered as literals."""

    def setinputsizes(self, sizes: Any) -> None:
        """PEP 249: may do nothing."""

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        """PEP 249: may do nothing."""

    def _reset(self) -> None:
        self._rows, self._position, self._columns, self._types, self._rowcount = [], 0, [], [], -1
        self._has_result = False

    def execute(self, operation: str, parameters: Mapping[str, Any] | Sequence[Any] | None = None) -> int:
        if self._closed:
            raise errors.InterfaceError("cursor already closed")
        self._reset()
        sql = substitute(operation, parameters)
        settings = dict(self._settings)
        try:
            if RETURNS_ROWS.match(sql):
                result = self._client.query(sql, settings=settings)
                self._has_result = True  # even without rows (and then maybe without column names)
                self._columns = list(result.column_names)
                self._types = [t.name for t in result.column_types]
                self._rows = [tuple(row) for row in result.result_rows]
                self._rowcount = len(self._rows)
            else:
                summary = self._client.command(sql, settings=settings)
                written = getattr(summary, "written_rows", None)
                self._rowcount = int(written) if written is not None else -1
        except Exception as ex:
            raise translate(ex) from ex
        return self._rowcount

    def executemany(self, operation: str, seq_of_parameters: Sequence[Mapping[str, Any] | Sequence[Any]]) -> int:
        total = 0
        for parameters in seq_of_parameters:
            total += max(self.execute(operation, parameters), 0)
        self._rowcount = total
        return total

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._position >= len(self._rows):
            return None
        row = self._rows[self._position]
        self._position += 1
        return row

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        size = self.arraysize if size is None else size
        rows = self._rows[self._position : self._position + size]
        self._position += len(rows)
        return rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows = self._rows[self._position :]
        self._position = len(self._rows)
        return rows
