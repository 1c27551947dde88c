"""Reading the operational store as Arrow, in change-sequence order.

PostgreSQL is read with the ADBC driver, which hands rows over as Arrow without a Python object per value,
inside one REPEATABLE READ snapshot per run.

SQLite is read two ways, and neither ever shares a process with a second SQLite library (the ADBC and
connectorx drivers bundle their own copy of SQLite, and two copies in one process break each other's POSIX
locks: stale WAL snapshots, "disk I/O error", even corruption, whenever the process also writes through
SQLAlchemy):
- in this process with the standard library's `sqlite3`, inside one snapshot per run: small backlogs
  (an hourly run) and everything reconciliation reads, where being inside its snapshot is the point;
- large backlogs (a first load, a full refresh, a backfill window) by the SQLite reader process
  (`extractors.sqlite_reader`, connectorx), which streams Arrow through a pipe at about three times the
  speed, while this process sends the previous batches to the warehouse. Each table is then read by one
  statement, i.e. from one snapshot of that table, taken when its read starts.

Values are conformed to the raw table's Arrow schema in `extractors.conform`, the same for every reader.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import threading
from collections.abc import Generator, Iterator
from typing import Any

import adbc_driver_postgresql.dbapi as adbc_postgresql
import pyarrow as pa
from sqlalchemy.engine import make_url

from extractors.conform import conform, with_load_columns
from extractors.raw_types import CHANGE_SEQ, RawTable
from extractors.reader_process import SQLiteReaderProcess

READER_BLOCK_ROWS = 65_536  # rows per record batch from the reader process
IN_PROCESS_PAGE_ROWS = 100_000  # rows per in-process read (SQLite makes a Python object of every value)


def now_utc() -> pa.Scalar:
    return pa.scalar(dt.datetime.now(dt.UTC), pa.timestamp("ms", tz="UTC"))


class Source:
    """One operational database. In-process reads inside `snapshot()` all see one committed state."""

    def __init__(self, url: str, *, reader_process_rows: int | None = None) -> None:
        """`reader_process_rows`: read a SQLite table with the reader process once this many rows are
        pending (extract-load; below it, starting the process costs more than it saves). None: never
        (reconciliation, which must read inside its own snapshot)."""
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        self._conn: Any
        self._reader: SQLiteReaderProcess | None = None
        self._reader_min_rows = 0
        self.sqlite_path: str | None = None  # the store's file, absolute (SQLite on disk only)
        if self.dialect == "sqlite":
            database = parsed.database or ":memory:"
            if database != ":memory:" and os.path.isfile(database):
                self.sqlite_path = os.path.realpath(database)
            self._conn = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA busy_timeout = 30000")
            if reader_process_rows is not None and database != ":memory:":
                self._reader = SQLiteReaderProcess(database)
                self._reader_min_rows = reader_process_rows
        elif self.dialect == "postgresql":
            uri = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            self._conn = adbc_postgresql.connect(uri, autocommit=True)
        else:
            raise ValueError(f"unsupported operational database: {self.dialect}")
        self._cursor = self._conn.cursor()
        # One cursor: the small look-ups below may come from several loading threads (the warehouse-read route).
        self._lock = threading.Lock()

    def _fetch_arrow(self, sql: str, params: tuple[Any, ...], table: RawTable) -> pa.Table:
        with self._lock:
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
        if self._reader is not None:
            self._reader.close()
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

    def stream(self, table: RawTable, after: int, batch_rows: int) -> Generator[pa.RecordBatch, None, None]:
        """Every row with change_seq > after, in change_seq order, with the load columns, as record batches
        of at most `batch_rows` rows. In-process reads are pages of one statement each (all inside the
        snapshot, when one is open); the reader process reads the table with one statement."""
        if self._reader is not None and self.backlog_reaches(table, after, self._reader_min_rows):
            yield from self._reader.stream(table, after=after, block_rows=min(batch_rows, READER_BLOCK_ROWS))
            return
        page_rows = min(batch_rows, IN_PROCESS_PAGE_ROWS)
        while True:
            batch = self.read_batch(table, after, page_rows)
            if batch.num_rows == 0:
                return
            after = int(batch.column(CHANGE_SEQ)[-1].as_py())
            yield from with_load_columns(batch, now_utc()).combine_chunks().to_batches()
            if batch.num_rows < page_rows:
                return

    def stream_window(
        self, table: RawTable, column: str, start: Any, end: Any
    ) -> Generator[pa.RecordBatch, None, None]:
        """Rows whose `column` is in [start, end), with the load columns (a backfill window)."""
        if self._reader is not None:
            yield from self._reader.stream(table, window=(column, str(start), str(end)), block_rows=READER_BLOCK_ROWS)
            return
        yield from (
            with_load_columns(self.read_window(table, column, start, end), now_utc()).combine_chunks().to_batches()
        )

    def backlog_reaches(self, table: RawTable, after: int, rows: int) -> bool:
        if rows <= 0:
            return True
        pending = self.scalar(
            f'SELECT count(*) FROM (SELECT 1 FROM "{table.name}" WHERE "{CHANGE_SEQ}" > {int(after)} LIMIT {int(rows)})'
        )
        return int(pending or 0) >= rows

    def query_row(self, sql: str) -> tuple[int, ...]:
        with self._lock:
            self._cursor.execute(sql)
            row = self._cursor.fetchone()
        return tuple(int(v or 0) for v in row) if row else ()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with self._lock:
            self._cursor.execute(sql)
            return [tuple(row) for row in self._cursor.fetchall()]

    def scalar(self, sql: str) -> Any:
        with self._lock:
            self._cursor.execute(sql)
            row = self._cursor.fetchone()
        return row[0] if row else None

    def columns_of(self, table: str) -> set[str]:
        with self._lock:
            self._cursor.execute(f'SELECT * FROM "{table}" LIMIT 0')
            return {d[0] for d in self._cursor.description or ()}
