"""A SQLite table copied from its file's pages: `pulse-sqlite-pages` (extractors/sqlite_pages.c) walks the
table's B-tree and writes ClickHouse Native blocks, which go to the warehouse as one streamed insert.

Why: every other reader hands SQLite's values over one library call at a time, and that alone cost more CPU
than the warehouse's whole insert (10M vends: 6-9 CPU seconds for SQLite's own calls, in C, against 5-8 for
the insert of every table). Reading the pages takes about 3, so on two cores the load runs at nearly the speed
of the insert alone (5.1 s against 4.9: benchmarks/elt_bench.py, docs/pipeline.md).

When: a SQLite store on this machine and a backlog of at least `min_rows` (the same threshold as the other bulk
routes), for tables the reader understands (rowid tables, UTF-8). The warehouse needs no access to the file:
the loader only inserts. A value the reader would not convert exactly as `extractors.conform` does (for
example text in an integer column) stops it with `PagesUnsupported`, and the caller copies the table the
way it would have without this route; rows already inserted are sent again and kept once by the
ReplacingMergeTree, as after a crash.

Snapshots: the caller holds a read transaction on the store while this runs (`Source.snapshot()`), which
keeps SQLite from writing pages past it into the file; the reader resolves pages through the WAL itself
(see the C file). The range bounds, the root page and the columns' places in the record come from the snapshot;
the reader refuses a store whose schema version has changed since, and the rows and the sum of their change_seq
it saw are checked against the snapshot's (`copy_pages`) before the range is acknowledged.

Parallelism: one reader process per table, into one insert; the pipeline copies two tables at once, which keeps
both cores busy (the reader decodes a row in a fraction of what the warehouse takes to insert it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

from extractors.raw_types import CHANGE_SEQ, DELETED_AT, INSERT_SETTINGS, LOAD_COLUMNS, RawColumn, RawTable
from extractors.source import Source, now_utc

READER = "pulse-sqlite-pages"
_KINDS = {"int16": "i16", "int32": "i32", "int64": "i64", "float": "f64", "bool": "bool", "date": "date",
          "timestamp": "ts", "string": "str", "json": "str"}  # fmt: skip
_UNSUPPORTED_EXIT = 3
_CHUNK = 1 << 20
BLOCK_ROWS = 131_072  # rows per Native block: big enough that per-block costs vanish, about 20 MiB of vends


class PagesUnsupported(RuntimeError):
    """The page reader cannot copy this table exactly: copy it another way."""


class PageReadError(RuntimeError):
    """The page reader failed (its message says why)."""


def reader_binary() -> str | None:
    """The page reader built by `make` next to this Python (None: not built here, the route is not used)."""
    return shutil.which(READER, path=os.path.dirname(sys.executable))


def _kind(column: RawColumn) -> str:
    if column.kind == "decimal":
        if column.precision > 18:
            raise PagesUnsupported(f"{column.name}: Decimal({column.precision}, {column.scale})")
        return "dec4" if column.precision <= 9 else "dec8"
    if column.kind not in _KINDS:
        raise PagesUnsupported(f"{column.name}: a column of kind {column.kind}")
    return _KINDS[column.kind]


def _reads_a_column(source: Source, table: str, column: str) -> bool:
    quoted_table, quoted_column = table.replace('"', '""'), column.replace('"', '""')
    plan = source.rows(f'EXPLAIN SELECT "{quoted_column}" FROM "{quoted_table}"')
    return any(row[1] == "Column" for row in plan)


@dataclass(frozen=True)
class PagePlan:
    """How one table is read from its pages: its root page, and for each raw column its place in the record."""

    table: RawTable
    path: str
    root: int
    record_index: dict[str, int]  # column -> position in the record; -1: the rowid (an INTEGER PRIMARY KEY)
    defaults: frozenset[str]  # columns with a default (a record older than the column would need it)
    schema_version: int  # the snapshot's: the reader refuses a store whose schema has changed since

    @classmethod
    def of(cls, source: Source, table: RawTable) -> PagePlan:
        """From the snapshot `source` holds (the reader checks that the store's schema is still this one)."""
        if source.sqlite_path is None:
            raise PagesUnsupported("not a SQLite file")
        name = table.name.replace("'", "''")
        kind = source.rows(f"SELECT type, wr FROM pragma_table_list WHERE schema = 'main' AND name = '{name}'")
        if kind != [("table", 0)]:
            raise PagesUnsupported(f"{table.name}: not a rowid table")
        root = int(source.scalar(f"SELECT rootpage FROM sqlite_schema WHERE type = 'table' AND name = '{name}'"))
        # table_xinfo lists columns in record order; hidden ones (generated, virtual-table) are not plain records.
        info = source.rows(f"SELECT name, type, pk, hidden, dflt_value FROM pragma_table_xinfo('{name}')")
        if any(hidden for _, _, _, hidden, _ in info):
            raise PagesUnsupported(f"{table.name}: has generated columns")
        keys = [str(row[0]) for row in info if row[2]]
        # The one key column that is the rowid (its value is not in the record): SQLite reads it with Rowid, not
        # Column. Asked of SQLite, as its rules have quirks (INTEGER PRIMARY KEY DESC is not one).
        alias = keys[0] if len(keys) == 1 and not _reads_a_column(source, table.name, keys[0]) else None
        index = {str(n): (-1 if n == alias else i) for i, (n, *_) in enumerate(info)}
        missing = [c.name for c in table.columns if c.name not in index]
        if missing or CHANGE_SEQ not in index:
            raise PagesUnsupported(f"{table.name}: no column {', '.join(missing or [CHANGE_SEQ])}")
        defaults = frozenset(str(n) for n, _, _, _, default in info if default is not None)
        for column in table.columns:
            _kind(column)  # raises for a type the reader does not write
        version = int(source.scalar("PRAGMA schema_version"))
        return cls(table, source.sqlite_path, root, index, defaults, version)

    def argv(self, binary: str, after: int, until: int) -> list[str]:
        seq, deleted = self.record_index[CHANGE_SEQ], self.record_index.get(DELETED_AT, -1)
        (_, _, loaded_type), loaded_at = LOAD_COLUMNS[-1], now_utc()  # the load time in its own column's ticks
        args = [binary, self.path, str(self.root), str(after), str(until), str(loaded_at.cast(loaded_type).value),
                str(seq), str(deleted), str(BLOCK_ROWS), str(self.schema_version)]  # fmt: skip
        args += [part for name, clickhouse_type, _ in LOAD_COLUMNS for part in (name, clickhouse_type)]
        for c in self.table.columns:
            flags = int(c.nullable) | (2 if c.name in self.defaults else 0)
            args += [_kind(c), str(flags), str(c.scale), str(self.record_index[c.name]), c.name, c.clickhouse_type]
        return args

    @property
    def columns(self) -> list[str]:
        return [c.name for c in self.table.columns] + [name for name, _, _ in LOAD_COLUMNS]


@dataclass(frozen=True)
class PageCopied:
    rows: int
    bytes: int


def _insert(client: Client, plan: PagePlan, binary: str, target: str, after: int, until: int) -> tuple[int, int, int]:
    """The reader's rows as one streamed insert: (rows it sent, the sum of their change_seq, bytes)."""
    proc = subprocess.Popen(plan.argv(binary, after, until), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = proc.stdout, proc.stderr
    assert stdout is not None and stderr is not None
    errors: list[bytes] = []
    drain = threading.Thread(target=lambda: errors.append(stderr.read()), daemon=True)
    drain.start()
    sent = 0

    def failure() -> Exception | None:
        status = proc.wait()
        drain.join()
        message = b"".join(errors).decode(errors="replace").strip()
        if status == _UNSUPPORTED_EXIT:
            return PagesUnsupported(message)
        if status != 0:
            return PageReadError(f"{READER} {plan.table.name}: {message or f'exit status {status}'}")
        return None

    def body() -> Generator[bytes, None, None]:
        nonlocal sent
        while chunk := stdout.read(_CHUNK):
            sent += len(chunk)
            yield chunk
        if (error := failure()) is not None:
            raise error  # the request is cut short, so the server refuses the insert's last block

    try:
        summary = client.raw_insert(target, plan.columns, body(), settings=INSERT_SETTINGS, fmt="Native")
    except Exception as exc:
        proc.kill()  # an insert that failed first: the reader's own failure, if it had one, says more
        error = failure()
        if error is not None and proc.returncode != -signal.SIGKILL:
            raise error from exc
        raise
    except BaseException:  # interrupted: stop the reader, and never take its exit for a refusal
        proc.kill()
        failure()
        raise
    if (error := failure()) is not None:
        raise error
    fields = dict(item.split("=", 1) for item in b"".join(errors).decode().splitlines()[-1].split())
    rows, seq_sum = int(fields["rows"]), int(fields["seqsum"])
    if int(summary.written_rows) != rows:
        raise PageReadError(f"{target}: the reader sent {rows} rows, the warehouse wrote {summary.written_rows}")
    return rows, seq_sum, sent


def _range_totals(query_row: Callable[[str], tuple[int, ...]], table: str, after: int, until: int) -> tuple[int, int]:
    name = table.replace('"', '""')
    rows, seq_sum = query_row(
        f'SELECT count(*), coalesce(sum("{CHANGE_SEQ}"), 0) FROM "{name}" '
        f'WHERE "{CHANGE_SEQ}" > {int(after)} AND "{CHANGE_SEQ}" <= {int(until)}'
    )
    return int(rows), int(seq_sum)


def _latest_totals(path: str, table: str, after: int, until: int) -> tuple[int, int]:
    """The range's rows in the store's latest state (a connection of its own; the same SQLite library as the
    snapshot's, so its close leaves that one's locks alone)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        conn.execute("PRAGMA busy_timeout = 30000")
        return _range_totals(lambda sql: tuple(conn.execute(sql).fetchone()), table, after, until)


def copy_pages(client: Client, source: Source, plan: PagePlan, binary: str, target: str, after: int,
               until: int) -> PageCopied:  # fmt: skip
    """Copy the rows with after < change_seq <= until as one insert; returns once it is acknowledged and what
    was read is the snapshot's rows or a later state of them.

    The reader may see a newer state than the snapshot: rows changed since have moved above `until`, and
    (SQLite has one writer at a time, so change_seq is given out in commit order) none have come into the
    range. So the range only loses rows over time: the rows read must include the latest state's and lie
    within the snapshot's, which bounds their count and change_seq sum from both sides. Reading the same as
    the snapshot (no writes meanwhile) needs no second look."""
    with ThreadPoolExecutor(1, thread_name_prefix=f"pages-{plan.table.name}") as pool:
        copy = pool.submit(_insert, client, plan, binary, target, after, until)
        snapshot = _range_totals(source.query_row, plan.table.name, after, until)  # while the reader reads
        rows, seq_sum, sent = copy.result()
    if (rows, seq_sum) != snapshot:
        latest = _latest_totals(plan.path, plan.table.name, after, until)
        if not (latest[0] <= rows <= snapshot[0] and latest[1] <= seq_sum <= snapshot[1]):
            # Not a state of the store's rows (a torn page read?): never acknowledged, the next run reads again.
            raise PageReadError(
                f"{plan.table.name}: read {rows} rows (change_seq sum {seq_sum}) from the pages; the snapshot has "
                f"{snapshot[0]} ({snapshot[1]}), the store now {latest[0]} ({latest[1]})"
            )
    return PageCopied(rows, sent)
