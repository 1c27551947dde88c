"""The warehouse reads the SQLite store itself: `INSERT INTO raw.t SELECT <conformed> FROM sqlite(<file>, t)`.

Why: the Arrow route pays for every row several times: connectorx's read, the conform casts, Arrow IPC through
a pipe, an HTTP body, and the server's parse. Here the engine's own SQLite source fills its columns directly,
in the process that writes the parts; one statement reads SQLite row by row on one thread, so two run at once,
one per core (10M vends: 10.8 s, 8.6x dlt, on a quiet two-core machine). The page reader
(extractors/page_copy.py) is twice as fast again and comes first; this route takes the tables it refuses.

When: only if the warehouse server can open the very file this process reads. `warehouse_reads_store()`
asks the server (the embedded one on this machine can; a ClickHouse on another host, or one confined to its
`user_files_path`, cannot) and checks that the server sees the same store, not merely a file at that path.
Otherwise the Arrow path is used (`PULSE_EXTRACT_WAREHOUSE_READ`).

Types: the SQL casts each column to its raw ClickHouse type from what `sqlite()` makes of it (integers and
reals by declared type, everything else as SQLite's own text, the same text `CAST(... AS TEXT)` gives the
Arrow readers), so the rows are those `extractors.conform` produces (tests/extractors/test_engine_copy.py
compares them on every operational table and on awkward values).

Snapshots and WAL: each INSERT ... SELECT is one SQLite statement in the server process, i.e. one read
transaction: a consistent snapshot of its change_seq range. The server is a different process from the
store's writers, with its own copy of SQLite, which is exactly how SQLite expects concurrent readers to look
(POSIX locks between processes). The range bounds come from this process's snapshot, so a batch never holds
rows committed after the run started; a row updated while the run reads moves above every bound and is
loaded by the next run (as with the other readers).

Security: `sqlite()` reaches any file the server can. The loader connects as the warehouse admin; every
other user is refused table functions by warehouse/access.py, and this module does not change that.
"""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Iterator
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.summary import QuerySummary

from extractors.raw_types import CHANGE_SEQ, DELETED_AT, INSERT_SETTINGS, LOAD_COLUMNS, RawColumn, RawTable
from extractors.source import Source
from warehouse.ddl import WarehouseDDL

COUNTER_TABLE = "pulse_change_seq"  # one row, the global change_seq counter: it identifies the store's state


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def sqlite_function(path: str, table: str) -> str:
    return f"sqlite({_literal(path)}, {_literal(table)})"


def text_affinity(declared: str) -> bool:
    """SQLite stores values of a column whose declared type says text as text (its affinity rules)."""
    upper = declared.upper()
    return "INT" not in upper and any(word in upper for word in ("CHAR", "CLOB", "TEXT"))


def conformed(column: RawColumn, source_type: str, declared: str) -> str:
    """The column in its raw type, from what `sqlite()` makes of it (`source_type`: Int64 or Float64 by
    declared type, else String, i.e. SQLite's text of the value) and the column's declared SQLite type.

    CAST parses text the way the Arrow casts do (timestamps as naive UTC, booleans from 0/1) and fails on a
    NULL in a non-nullable column, as they do. Decimals need one more step: the Arrow readers get a REAL
    as SQLite's `CAST(x AS TEXT)`, 15 significant digits (8.4 for the double 8.399999999999999), but the
    engine's SQLite renders it with up to 17 (8.399999999999999), which a CAST to Decimal(14, 2) would
    truncate to 8.39. So a REAL's text longer than any 15-digit number is rounded to 15 significant digits
    first. Integers and text stored as such (a column declared TEXT keeps exact decimal text) are exact."""
    name, target = _ident(column.name), column.clickhouse_type
    if source_type == target:
        return f"{name} AS {name}"  # a CAST to its own type still copies the column (about 3% of the read)
    value = name
    if column.kind == "decimal":
        base = source_type.removeprefix("Nullable(").removesuffix(")")
        if base.startswith("Float"):
            value = f"printf('%.14e', {name})"
        elif base == "String" and not text_affinity(declared):
            value = f"if(length({name}) > 16 AND match({name}, '[.eE]'), printf('%.14e', toFloat64({name})), {name})"
    return f"CAST({value} AS {target}) AS {name}"


def describe_sql(path: str, table: str) -> str:
    """What the engine's `sqlite()` makes of each column: a (name, type, ...) row per column."""
    return f"DESCRIBE TABLE {sqlite_function(path, table)}"


def source_types(client: Client, path: str, table: str) -> dict[str, str]:
    """What the engine's `sqlite()` makes of each column (it types them from their declared types)."""
    return {str(row[0]): str(row[1]) for row in client.query(describe_sql(path, table)).result_rows}


def declared_types(source: Source, table: str) -> dict[str, str]:
    """Each column's declared SQLite type, read here (in this process's snapshot)."""
    rows = source.rows(f"SELECT name, type FROM pragma_table_info({_literal(table)})")
    return {str(name): str(declared or "") for name, declared in rows}


@dataclass(frozen=True)
class Plan:
    """How one table is copied: its raw description, where the store is, and the column expressions."""

    table: RawTable
    path: str
    exprs: tuple[str, ...]

    @classmethod
    def of(cls, client: Client, source: Source, table: RawTable, path: str) -> Plan:
        return cls.build(table, path, source_types(client, path, table.name), declared_types(source, table.name))

    @classmethod
    def build(cls, table: RawTable, path: str, engine: dict[str, str], declared: dict[str, str]) -> Plan:
        """`engine`: each column's type as `sqlite()` reads it; `declared`: its declared SQLite type."""
        missing = [c.name for c in table.columns if c.name not in engine]
        if missing:
            raise LookupError(f"{table.name} has no column {', '.join(missing)} in {path}")
        return cls(table, path, tuple(conformed(c, engine[c.name], declared.get(c.name, "")) for c in table.columns))


def insert_select_sql(plan: Plan, target: str, after: int, until: int) -> str:
    """Copy the rows with after < change_seq <= until. The range filter is in the inner query, on the
    storage's own columns, so the engine hands it to SQLite (which uses the change_seq index)."""
    table, path = plan.table, plan.path
    names = [c.name for c in table.columns]
    inner = (
        f"SELECT {', '.join(_ident(n) for n in names)} FROM {sqlite_function(path, table.name)} "
        f"WHERE {_ident(CHANGE_SEQ)} > {int(after)} AND {_ident(CHANGE_SEQ)} <= {int(until)}"
    )
    load = {
        "_change_seq": f"CAST({_ident(CHANGE_SEQ)} AS UInt64)",
        "_is_deleted": f"CAST({_ident(DELETED_AT)} IS NOT NULL AS UInt8)",
        "_loaded_at": "now64(3, 'UTC')",
    }
    exprs = [*plan.exprs, *(f"{load[name]} AS {_ident(name)}" for name, _, _ in LOAD_COLUMNS)]
    columns = ", ".join(_ident(n) for n in [*names, *(name for name, _, _ in LOAD_COLUMNS)])
    return f"INSERT INTO {target} ({columns}) SELECT {', '.join(exprs)} FROM ({inner})"


@dataclass(frozen=True)
class WarehouseRead:
    """How big backlogs of a SQLite store are copied: from its pages by `pages` (the page reader's binary,
    extractors.page_copy), else by the warehouse reading the store file at `path` itself; either may be None.
    Each of `clients` (own HTTP sessions, so the server runs their statements at once) carries one insert at a
    time."""

    path: str | None
    clients: tuple[Client, ...]
    # Backlogs below this many rows are read in-process instead (an hourly run): one file open, DESCRIBE and
    # statement per table on the server cost more than reading a few rows here.
    min_rows: int = 0
    pages: str | None = None

    def lender(self) -> ClientLender:
        return ClientLender(self.clients)

    def close(self) -> None:
        for client in self.clients:
            client.close()


class ClientLender:
    """Lends the idle one of some clients, one thread at a time each (work spread over the clients' streams)."""

    def __init__(self, clients: tuple[Client, ...]) -> None:
        self._idle: queue.SimpleQueue[Client] = queue.SimpleQueue()
        for client in clients:
            self._idle.put(client)

    @contextlib.contextmanager
    def borrow(self) -> Iterator[Client]:
        client = self._idle.get()
        try:
            yield client
        finally:
            self._idle.put(client)


@dataclass(frozen=True)
class Copied:
    rows: int
    bytes: int


def copy_range(client: Client, plan: Plan, target: str, after: int, until: int) -> Copied:
    """One INSERT ... SELECT, acknowledged when this returns (the server answers once the parts are written)."""
    summary = client.command(insert_select_sql(plan, target, after, until), settings=INSERT_SETTINGS)
    if isinstance(summary, QuerySummary):
        return Copied(int(summary.written_rows), int(summary.written_bytes()))
    return Copied(0, 0)


@contextlib.contextmanager
def merges_held(client: Client, ddl: WarehouseDDL, target: str) -> Iterator[None]:
    """No merges of `target` while a copy writes it. The copy writes a part per million rows or so, and merging
    the first ones while the rest were written took a fifth of the load's CPU on two cores (10M vends: 26.5
    against 21.7 CPU seconds, the same parts written); they are merged once it is done instead. If the copy
    fails, its error is the one reported; if it is killed, ensure_raw_table starts merges on the next run."""
    client.command(ddl.stop_merges(target))
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            client.command(ddl.start_merges(target))
        raise
    client.command(ddl.start_merges(target))


def batch_bounds(source: Source, table: RawTable, after: int, batch_rows: int) -> list[int]:
    """The last change_seq of each batch of `batch_rows` rows above `after`, in this process's snapshot (the
    change_seq index makes each step a short index walk)."""
    bounds: list[int] = []
    name, seq = table.name.replace('"', '""'), CHANGE_SEQ
    while True:
        step = source.scalar(
            f'SELECT "{seq}" FROM "{name}" WHERE "{seq}" > {int(after)} ORDER BY "{seq}" LIMIT 1 OFFSET {batch_rows - 1}'
        )
        if step is None:
            last = source.scalar(f'SELECT max("{seq}") FROM "{name}" WHERE "{seq}" > {int(after)}')
            if last is not None:
                bounds.append(int(last))
            return bounds
        after = int(step)
        bounds.append(after)


def warehouse_reads_store(client: Client, source: Source) -> bool:
    """Whether the warehouse server can read this store's SQLite file itself, and sees the same store.

    The file's existence is asked first through `file(..., 'One')`, which reads nothing: `sqlite()` on a
    path the server does not have would create an empty database there. Then the change_seq counter is read
    here, by the server, and here again: the server's value must lie between ours (writers only raise it),
    which a different file at the same path almost never does."""
    path = source.sqlite_path
    if path is None:
        return False
    try:
        client.query(f"SELECT _size FROM file({_literal(path)}, 'One')")
        before = int(source.scalar(f'SELECT value FROM "{COUNTER_TABLE}"') or 0)
        rows = client.query(f"SELECT value FROM {sqlite_function(path, COUNTER_TABLE)}").result_rows
        after = int(source.scalar(f'SELECT value FROM "{COUNTER_TABLE}"') or 0)
    except Exception:  # any refusal (no such file, not allowed, not the admin) means: not from there
        return False
    return len(rows) == 1 and before <= int(rows[0][0]) <= after
