"""Incremental extract-load of the operational store into `raw`.

For each table: make sure `raw.<table>` exists with every current column (a new operational column is
added and the table reloaded so that old rows get its values), then stream the rows with
`change_seq > watermark` into the warehouse in bounded batches, and only once a batch's inserts are
acknowledged record its last change_seq as the new watermark. A crash anywhere leaves a watermark that is
at most one batch behind what was loaded; the next run re-sends that batch and the ReplacingMergeTree keeps
one copy.

Each insert is one streamed `INSERT ... FORMAT ArrowStream`: record batches go into the request body as
they come from the source, so reading, sending and the warehouse's parsing overlap. A big backlog of a SQLite
store is instead read from the file's pages and sent as one Native insert per table (`extractors.page_copy`),
or, for a table the page reader refuses, where the warehouse can read the store itself, copied by one `INSERT
... SELECT FROM sqlite()` per change_seq range (`extractors.engine_copy`), several at once, acknowledged in order.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pyarrow as pa
from clickhouse_connect.driver.client import Client

from extractors.engine_copy import Copied, Plan, WarehouseRead, batch_bounds, copy_range, merges_held
from extractors.faults import crash_point
from extractors.page_copy import PagePlan, PagesUnsupported, copy_pages
from extractors.raw_schema import CHANGE_SEQ, RAW_DATABASE, RawTable, extracted_tables
from extractors.raw_types import INSERT_SETTINGS
from extractors.source import Source
from operational_api.models import Base
from warehouse.ddl import WarehouseDDL

WATERMARKS = f"{RAW_DATABASE}._pulse_watermarks"
_END_OF_STREAM = b"\xff\xff\xff\xff\x00\x00\x00\x00"  # Arrow IPC end-of-stream marker


@dataclass
class TableLoad:
    table: str
    rows: int = 0
    bytes: int = 0
    seconds: float = 0.0
    batches: int = 0
    watermark: int = 0
    added_columns: list[str] = field(default_factory=list)
    mode: str = "incremental"
    route: str = "arrow"  # how the rows came: "pages", "warehouse" (it read the store) or "arrow" (read here)


Progress = Callable[[str, int], None]


class Watermarks:
    """The last change_seq loaded per table, kept in the warehouse next to the data it describes."""

    def __init__(self, client: Client, run_id: str, ddl: WarehouseDDL | None = None) -> None:
        self.client = client
        self.run_id = run_id
        self.ddl = ddl or WarehouseDDL.from_settings()

    @staticmethod
    def tables_ddl(ddl: WarehouseDDL) -> list[str]:
        return [
            ddl.create_database(RAW_DATABASE),
            f"CREATE TABLE IF NOT EXISTS {WATERMARKS}{ddl.on_cluster} (table_name String, watermark UInt64, "
            f"rows UInt64, run_id String, updated_at DateTime64(6, 'UTC')) ENGINE = {ddl.engine('MergeTree')} "
            f"ORDER BY (table_name, updated_at){ddl.table_settings} "
            "COMMENT 'Extraction log: one row per acknowledged batch (or per run that found nothing new); the latest row per table is its watermark.'",
        ]

    def ensure(self) -> None:
        for statement in self.tables_ddl(self.ddl):
            self.client.command(statement)

    def get(self, table: str) -> int:
        result = self.client.query(
            f"SELECT argMax(watermark, updated_at) FROM {WATERMARKS} WHERE table_name = {{t:String}}",
            parameters={"t": table},
        )
        return int(result.result_rows[0][0] or 0)

    def all(self) -> dict[str, int]:
        rows = self.client.query(
            f"SELECT table_name, argMax(watermark, updated_at) FROM {WATERMARKS} GROUP BY table_name"
        ).result_rows
        return {name: int(value) for name, value in rows}

    def set(self, table: str, watermark: int, rows: int) -> None:
        self.checked({table: watermark}, rows)

    def checked(self, watermarks: dict[str, int], rows: int = 0) -> None:
        """Log that these tables are loaded up to their watermarks as of now (rows=0: nothing was new). Source
        freshness reads this log, so a quiet table (no payment over a weekend) is fresh while loads run."""
        now = dt.datetime.now(dt.UTC)
        self.client.insert(
            WATERMARKS,
            [[table, watermark, rows, self.run_id, now] for table, watermark in watermarks.items()],
            column_names=["table_name", "watermark", "rows", "run_id", "updated_at"],
        )


def ensure_raw_table(client: Client, table: RawTable, ddl: WarehouseDDL | None = None) -> list[str]:
    """Create `raw.<table>`, or add the columns the operational schema gained; returns those added."""
    ddl = ddl or WarehouseDDL.from_settings()
    client.command(table.create_sql(ddl=ddl))
    client.command(ddl.start_merges(table.qualified))  # in case a warehouse-read copy was killed with them stopped
    existing = {
        row[0]
        for row in client.query(
            "SELECT name FROM system.columns WHERE database = {d:String} AND table = {t:String}",
            parameters={"d": RAW_DATABASE, "t": table.name},
        ).result_rows
    }
    added = []
    previous = None
    for column in table.columns:
        if column.name not in existing:
            after = f" AFTER `{previous}`" if previous else " FIRST"
            client.command(
                ddl.alter_table(
                    table.qualified, f"ADD COLUMN IF NOT EXISTS `{column.name}` {column.clickhouse_type}{after}"
                )
            )
            added.append(column.name)
        previous = column.name
    return added


class InsertNotConfirmedError(RuntimeError):
    """The warehouse acknowledged an insert with fewer rows than were sent."""


@dataclass
class Sent:
    rows: int = 0
    bytes: int = 0
    last_change_seq: int = 0


def insert_stream(client: Client, target: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> Sent:
    """Send the record batches as one streamed `INSERT ... FORMAT ArrowStream`; returns what was sent, once
    the warehouse has acknowledged it. No batches: no request."""
    batches = iter(batches)
    first = next(batches, None)
    sent = Sent()
    if first is None:
        return sent

    def body() -> Generator[bytes, None, None]:  # Arrow buffers, sent without a copy into bytes
        yield schema.serialize()
        for batch in _chain(first, batches):
            if batch.num_rows == 0:
                continue
            message = batch.serialize()
            sent.rows += batch.num_rows
            sent.bytes += message.size
            sent.last_change_seq = int(batch.column(CHANGE_SEQ)[-1].as_py())
            yield message
        yield _END_OF_STREAM

    summary = client.raw_insert(target, schema.names, body(), settings=INSERT_SETTINGS, fmt="ArrowStream")
    if summary.written_rows < sent.rows:
        # A request replayed with an already consumed body, or cut short, must never move a watermark.
        raise InsertNotConfirmedError(f"{target}: sent {sent.rows} rows, the warehouse wrote {summary.written_rows}")
    return sent


def _chain(first: pa.RecordBatch, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield first
    yield from rest


class RowStream:
    """Record batches handed out by row counts: a batch is split where a count ends (slices, no copy)."""

    def __init__(self, batches: Iterable[pa.RecordBatch]) -> None:
        self._batches = iter(batches)
        self._held: pa.RecordBatch | None = None

    def take(self, rows: int) -> Iterator[pa.RecordBatch]:
        """The next `rows` rows (fewer at the end of the stream)."""
        while rows > 0:
            if self._held is None:
                self._held = next(self._batches, None)
                if self._held is None:
                    return
            block, rest = self._held.slice(0, rows), self._held.slice(rows)
            self._held = rest if rest.num_rows else None
            rows -= block.num_rows
            yield block


def _copy_batches(
    source: Source,
    client: Client,
    table: RawTable,
    target: str,
    after: int,
    result: TableLoad,
    batch_rows: int,
    insert_rows: int,
    progress: Progress | None,
    acknowledge: Callable[[int, int], None] | None = None,
) -> int:
    """Copy rows with change_seq > after into `target`, batch by batch (each batch sent as inserts of up to
    `insert_rows` rows); `acknowledge(last, rows)` runs after each batch is in the warehouse. Returns the
    last change_seq copied."""
    with contextlib.closing(source.stream(table, after, batch_rows)) as batches:
        return _copy_stream(RowStream(batches), client, table, target, after, result, batch_rows, insert_rows,
                            progress, acknowledge)  # fmt: skip


def _copy(
    source: Source,
    client: Client,
    table: RawTable,
    target: str,
    after: int,
    result: TableLoad,
    batch_rows: int,
    insert_rows: int,
    progress: Progress | None,
    ddl: WarehouseDDL,
    bulk: WarehouseRead | None,
    acknowledge: Callable[[int, int], None] | None = None,
) -> int:
    """Copy rows with change_seq > after into `target` by the cheapest route open to this backlog: with `bulk`,
    from the store's pages, else by the warehouse reading the store; otherwise (or if neither can) read here
    and sent as Arrow. Returns the last change_seq copied."""
    refusal = ""
    if bulk is not None and bulk.pages is not None:
        try:
            result.route = "pages"
            return _copy_by_pages(source, client, bulk.pages, table, target, after, result, progress, ddl,
                                  acknowledge)  # fmt: skip
        except PagesUnsupported as refused:
            refusal = f", pages refused ({refused})"
    if bulk is not None and bulk.path is not None:
        result.route = f"warehouse{refusal}"
        return _copy_by_warehouse(source, bulk, table, target, after, result, batch_rows, progress, ddl, acknowledge)
    result.route = f"arrow{refusal}"
    return _copy_batches(source, client, table, target, after, result, batch_rows, insert_rows, progress,
                         acknowledge)  # fmt: skip


def _copy_by_pages(
    source: Source,
    client: Client,
    binary: str,
    table: RawTable,
    target: str,
    after: int,
    result: TableLoad,
    progress: Progress | None,
    ddl: WarehouseDDL,
    acknowledge: Callable[[int, int], None] | None,
) -> int:
    """Copy rows with change_seq > after (up to this snapshot's last) from the store's pages as one streamed
    Native insert (`extractors.page_copy`), acknowledged once it is in the warehouse and matches the snapshot.
    Raises PagesUnsupported, having acknowledged nothing, if the page reader cannot copy this table exactly."""
    plan = PagePlan.of(source, table)
    name = table.name.replace('"', '""')
    last = source.scalar(f'SELECT max("{CHANGE_SEQ}") FROM "{name}" WHERE "{CHANGE_SEQ}" > {int(after)}')
    if last is None:
        return after
    with merges_held(client, ddl, target):
        copied = copy_pages(client, source, plan, binary, target, after, int(last))
    result.bytes += copied.bytes
    if progress:
        progress(table.name, copied.rows)
    crash_point("after-load")
    if acknowledge is not None:
        acknowledge(int(last), copied.rows)
    result.rows += copied.rows
    result.batches += 1
    return int(last)


def _copy_by_warehouse(
    source: Source,
    read: WarehouseRead,
    table: RawTable,
    target: str,
    after: int,
    result: TableLoad,
    batch_rows: int,
    progress: Progress | None,
    ddl: WarehouseDDL,
    acknowledge: Callable[[int, int], None] | None = None,
) -> int:
    """Copy rows with change_seq > after into `target` by having the warehouse read the SQLite file itself
    (`extractors.engine_copy`): one INSERT ... SELECT per batch of `batch_rows` rows, bounded in this
    process's snapshot, up to len(read.clients) of them at once (the engine reads SQLite on one thread per
    statement: disjoint ranges at once use every core). `acknowledge(last, rows)` runs in change_seq order,
    for a batch only once it and every batch below it have returned, so a watermark never passes a range
    that is not in the warehouse. Returns the last change_seq copied."""
    if read.path is None:
        raise ValueError("the warehouse cannot read this store")
    bounds = batch_bounds(source, table, after, batch_rows)
    if not bounds:
        return after
    plan = Plan.of(read.clients[0], source, table, read.path)
    ranges = list(zip([after, *bounds[:-1]], bounds, strict=True))
    lender = read.lender()

    def copy(lo: int, hi: int) -> Copied:
        with lender.borrow() as client:
            return copy_range(client, plan, target, lo, hi)

    with merges_held(read.clients[0], ddl, target):
        pool = ThreadPoolExecutor(max_workers=len(read.clients), thread_name_prefix=f"copy-{table.name}")
        try:
            copies = [pool.submit(copy, lo, hi) for lo, hi in ranges]
            for (_, hi), done in zip(ranges, copies, strict=True):
                copied = done.result()
                after = hi
                result.bytes += copied.bytes
                if progress:
                    progress(table.name, copied.rows)
                crash_point("after-load")
                if acknowledge is not None:
                    acknowledge(after, copied.rows)
                result.rows += copied.rows
                result.batches += 1
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # on failure: nothing left running, nothing acknowledged
    return after


def _copy_stream(
    rows: RowStream,
    client: Client,
    table: RawTable,
    target: str,
    after: int,
    result: TableLoad,
    batch_rows: int,
    insert_rows: int,
    progress: Progress | None,
    acknowledge: Callable[[int, int], None] | None,
) -> int:
    schema = table.arrow_schema
    while True:
        in_batch = 0
        while in_batch < batch_rows:
            limit = min(insert_rows, batch_rows - in_batch)
            sent = insert_stream(client, target, schema, rows.take(limit))
            if not sent.rows:
                break
            in_batch += sent.rows
            result.bytes += sent.bytes
            after = sent.last_change_seq
            if progress:
                progress(table.name, sent.rows)
            if sent.rows == limit and in_batch < batch_rows:
                crash_point("mid-batch")  # inserted, more of this batch to come, watermark not yet moved
        if not in_batch:
            return after
        crash_point("after-load")
        if acknowledge is not None:
            acknowledge(after, in_batch)
        result.rows += in_batch
        result.batches += 1


def load_incremental(
    source: Source,
    client: Client,
    table: RawTable,
    watermarks: Watermarks,
    *,
    batch_rows: int,  # rows per watermark step (settings.extract_batch_rows)
    insert_rows: int,  # rows per streamed HTTP insert inside a batch (settings.extract_insert_rows)
    progress: Progress | None = None,
    warehouse_read: WarehouseRead | None = None,  # the warehouse reads the SQLite file itself (engine_copy)
) -> TableLoad:
    started = time.perf_counter()
    result = TableLoad(table.name)
    result.added_columns = ensure_raw_table(client, table, watermarks.ddl)
    after = watermarks.get(table.name)
    if result.added_columns and after:
        # Old rows are in raw without the new column: send them again, the reload replaces them.
        result.mode, after = "reload (schema changed)", 0

    def acknowledge(last: int, rows: int) -> None:
        watermarks.set(table.name, last, rows)

    bulk = warehouse_read is not None and source.backlog_reaches(table, after, warehouse_read.min_rows)
    after = _copy(source, client, table, table.qualified, after, result, batch_rows, insert_rows, progress,
                  watermarks.ddl, warehouse_read if bulk else None, acknowledge)  # fmt: skip
    result.watermark = after
    result.seconds = time.perf_counter() - started
    return result


def load_full_refresh(
    source: Source,
    client: Client,
    table: RawTable,
    watermarks: Watermarks,
    *,
    batch_rows: int,  # rows per watermark step (settings.extract_batch_rows)
    insert_rows: int,  # rows per streamed HTTP insert inside a batch (settings.extract_insert_rows)
    progress: Progress | None = None,
    warehouse_read: WarehouseRead | None = None,  # the warehouse reads the SQLite file itself (engine_copy)
) -> TableLoad:
    """Reload a table from scratch into a side table, then swap it in atomically (readers never see a gap)."""
    started = time.perf_counter()
    result = TableLoad(table.name, mode="full refresh")
    ddl = watermarks.ddl
    ensure_raw_table(client, table, ddl)
    side = f"{table.name}__refresh"
    target = f"{RAW_DATABASE}.`{side}`"
    client.command(ddl.drop_table(target, if_exists=True))
    client.command(table.create_sql(side, ddl))
    after = _copy(source, client, table, target, 0, result, batch_rows, insert_rows, progress, ddl, warehouse_read)
    for statement in ddl.sync_replica(target):
        client.command(statement)
    client.command(ddl.exchange_tables(table.qualified, target))
    client.command(ddl.drop_table(target))
    watermarks.set(table.name, after, result.rows)
    result.watermark = after
    result.seconds = time.perf_counter() - started
    return result


def load_window(
    source: Source,
    client: Client,
    table: RawTable,
    start: dt.datetime,
    end: dt.datetime,
    column: str = "updated_at",
    ddl: WarehouseDDL | None = None,
) -> TableLoad:
    """Backfill: send again the rows whose `column` falls in [start, end); the watermark does not move."""
    started = time.perf_counter()
    result = TableLoad(table.name, mode=f"backfill {start:%Y-%m-%d %H:%M}..{end:%Y-%m-%d %H:%M}")
    ensure_raw_table(client, table, ddl)
    if source.dialect == "sqlite":  # SQLite compares the stored naive-UTC text
        bounds: tuple[object, object] = (_naive_utc_text(start), _naive_utc_text(end))
    else:
        bounds = (start, end)
    with contextlib.closing(source.stream_window(table, column, *bounds)) as batches:
        sent = insert_stream(client, table.qualified, table.arrow_schema, batches)
    result.rows, result.bytes = sent.rows, sent.bytes
    result.seconds = time.perf_counter() - started
    return result


def _naive_utc_text(moment: dt.datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def operational_tables() -> list[RawTable]:
    return extracted_tables(Base.metadata)


def source_groups() -> dict[str, list[str]]:
    """Tables by the model module that defines them (vending, crm, ...): the DAG extracts groups in parallel."""
    groups: dict[str, list[str]] = {}
    by_table = {
        getattr(m.local_table, "name", ""): m.class_.__module__.rsplit(".", 1)[-1] for m in Base.registry.mappers
    }
    for table in operational_tables():
        groups.setdefault(by_table.get(table.name, "other"), []).append(table.name)
    return groups


def select_tables(names: Iterable[str] | None) -> list[RawTable]:
    tables = operational_tables()
    if not names:
        return tables
    wanted = list(names)
    known = {t.name: t for t in tables}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise KeyError(f"not an extracted operational table: {', '.join(unknown)}")
    return [known[n] for n in wanted]
