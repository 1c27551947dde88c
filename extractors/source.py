"""Reading the operational store as Arrow, in change-sequence order, from one consistent snapshot.

PostgreSQL is read with the ADBC driver, which hands rows over as Arrow without a Python object per value.
SQLite is read with the standard library's `sqlite3`, deliberately: the ADBC SQLite driver bundles its own
copy of SQLite, and two copies of SQLite in one process break each other's POSIX locks (stale WAL
snapshots, "disk I/O error", even corruption) whenever the same process also writes through SQLAlchemy.

Values are then conformed to the raw table's Arrow schema: SQLite keeps timestamps as text and numerics as
REAL/INTEGER (they are read as text and cast exactly); PostgreSQL's types map directly.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from typing import Any

import adbc_driver_postgresql.dbapi as adbc_postgresql
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.engine import make_url

from extractors.raw_schema import CHANGE_SEQ, DELETED_AT, RawColumn, RawTable


class Source:
    """One operational database, read inside a single snapshot per extraction run."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        self._conn: Any
        if self.dialect == "sqlite":
            self._conn = sqlite3.connect(parsed.database or ":memory:", isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA busy_timeout = 30000")
        elif self.dialect == "postgresql":
            uri = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            self._conn = adbc_postgresql.connect(uri, autocommit=True)
        else:
            raise ValueError(f"unsupported operational database: {self.dialect}")
        self._cursor = self._conn.cursor()

    def _fetch_arrow(self, sql: str, params: tuple[Any, ...], table: RawTable) -> pa.Table:
        self._cursor.execute(sql, params)
        if self.dialect != "sqlite":
            return conform(self._cursor.fetch_arrow_table(), table)
        rows = self._cursor.fetchall()
        names = [c.name for c in table.columns]
        if not rows:
            return conform(pa.table({n: pa.nulls(0) for n in names}), table)
        columns = list(zip(*rows, strict=True))
        return conform(pa.table({n: pa.array(columns[i]) for i, n in enumerate(names)}), table)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._cursor.close()
            self._conn.close()

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every read inside sees the same committed state (so related tables agree with each other)."""
        begin = "BEGIN" if self.dialect == "sqlite" else "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        self._cursor.execute(begin)
        try:
            yield
        finally:
            self._cursor.execute("COMMIT")

    def _param(self, n: int) -> str:
        return "?" if self.dialect == "sqlite" else f"${n}"

    def _select_list(self, table: RawTable) -> str:
        exprs = []
        for column in table.columns:
            name = f'"{column.name}"'
            if column.kind in ("decimal", "json") or (self.dialect == "sqlite" and column.kind == "timestamp"):
                # Text is exact for numerics and is how SQLite stores timestamps; cast in Arrow below.
                exprs.append(f"CAST({name} AS TEXT) AS {name}")
            else:
                exprs.append(name)
        return ", ".join(exprs)

    def read_batch(self, table: RawTable, after: int, limit: int) -> pa.Table:
        """Up to `limit` rows with change_seq > after, in change_seq order, conformed to the raw schema."""
        sql = (
            f'SELECT {self._select_list(table)} FROM "{table.name}" '
            f'WHERE "{CHANGE_SEQ}" > {self._param(1)} ORDER BY "{CHANGE_SEQ}" LIMIT {self._param(2)}'
        )
        return self._fetch_arrow(sql, (after, limit), table)

    def read_window(self, table: RawTable, column: str, start: Any, end: Any) -> pa.Table:
        """Rows whose `column` is in [start, end): a backfill window that does not move the watermark."""
        sql = (
            f'SELECT {self._select_list(table)} FROM "{table.name}" '
            f'WHERE "{column}" >= {self._param(1)} AND "{column}" < {self._param(2)} ORDER BY "{CHANGE_SEQ}"'
        )
        return self._fetch_arrow(sql, (start, end), table)

    def query_row(self, sql: str) -> tuple[int, ...]:
        self._cursor.execute(sql)
        row = self._cursor.fetchone()
        return tuple(int(v or 0) for v in row) if row else ()

    def scalar(self, sql: str) -> Any:
        self._cursor.execute(sql)
        row = self._cursor.fetchone()
        return row[0] if row else None

    def columns_of(self, table: str) -> set[str]:
        self._cursor.execute(f'SELECT * FROM "{table}" LIMIT 0')
        return {d[0] for d in self._cursor.description or ()}


def _conform_column(array: pa.ChunkedArray, column: RawColumn) -> pa.ChunkedArray:
    target = column.arrow_type
    if array.type == target:
        return array
    if array.null_count == len(array):
        # SQLite has no column types: an all-NULL column comes back typed as whatever the driver guessed.
        return pa.chunked_array([pa.nulls(len(array), target)])
    if column.kind == "timestamp":
        if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
            # SQLite: naive UTC text, "YYYY-MM-DD HH:MM:SS[.ffffff]".
            return array.cast(pa.timestamp("us")).cast(target)
        if pa.types.is_timestamp(array.type) and array.type.tz is None:
            return array.cast(pa.timestamp("us")).cast(target)
    if column.kind == "decimal" and pa.types.is_floating(array.type):
        array = pc.round(array, column.scale)
    if column.kind == "date" and pa.types.is_timestamp(array.type):
        return array.cast(pa.date32())
    return array.cast(target)


def conform(batch: pa.Table, table: RawTable) -> pa.Table:
    """The batch in exactly the raw table's column types (no load columns yet)."""
    arrays = [_conform_column(batch.column(c.name), c) for c in table.columns]
    schema = pa.schema([pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in table.columns])
    return pa.Table.from_arrays(arrays, schema=schema)


def with_load_columns(batch: pa.Table, loaded_at: pa.Scalar) -> pa.Table:
    """Add `_change_seq`, `_is_deleted` and `_loaded_at`."""
    change_seq = batch.column(CHANGE_SEQ).cast(pa.uint64())
    deleted = pc.is_valid(batch.column(DELETED_AT)).cast(pa.uint8())
    loaded = pa.repeat(loaded_at, batch.num_rows)
    return (
        batch.append_column(pa.field("_change_seq", pa.uint64(), nullable=False), change_seq)
        .append_column(pa.field("_is_deleted", pa.uint8(), nullable=False), deleted)
        .append_column(pa.field("_loaded_at", pa.timestamp("ms", tz="UTC"), nullable=False), loaded)
    )
