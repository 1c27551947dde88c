"""Incremental extract-load of the operational store into `raw`.

For each table: make sure `raw.<table>` exists with every current column (a new operational column is
added and the table reloaded so that old rows get its values), then read rows with
`change_seq > watermark` in bounded batches, insert each batch as Arrow, and only then record the batch's
last change_seq as the new watermark. A crash anywhere leaves a watermark that is at most one batch
behind what was loaded; the next run re-sends that batch and the ReplacingMergeTree keeps one copy.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pyarrow as pa
from clickhouse_connect.driver.client import Client

from extractors.raw_schema import CHANGE_SEQ, RAW_DATABASE, RawTable, extracted_tables
from extractors.source import Source, with_load_columns
from operational_api.models import Base

DEFAULT_BATCH_ROWS = 200_000
DEFAULT_INSERT_ROWS = 100_000  # rows per HTTP insert inside a batch
WATERMARKS = f"{RAW_DATABASE}._pulse_watermarks"


_fault_hits: dict[str, int] = {}


def crash_point(name: str) -> None:
    """Fault injection for the crash tests: PULSE_FAULT=<name>[:n] kills the process here (the n-th time)."""
    wanted, _, nth = os.environ.get("PULSE_FAULT", "").partition(":")
    if wanted == name:
        _fault_hits[name] = _fault_hits.get(name, 0) + 1
        if _fault_hits[name] >= int(nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)


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


Progress = Callable[[str, int], None]


class Watermarks:
    """The last change_seq loaded per table, kept in the warehouse next to the data it describes."""

    def __init__(self, client: Client, run_id: str) -> None:
        self.client = client
        self.run_id = run_id

    def ensure(self) -> None:
        self.client.command(f"CREATE DATABASE IF NOT EXISTS {RAW_DATABASE}")
        self.client.command(
            f"CREATE TABLE IF NOT EXISTS {WATERMARKS} (table_name String, watermark UInt64, rows UInt64, "
            "run_id String, updated_at DateTime64(6, 'UTC')) ENGINE = MergeTree ORDER BY (table_name, updated_at) "
            "COMMENT 'Extraction log: one row per acknowledged batch; the latest row per table is its watermark.'"
        )

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
        self.client.insert(
            WATERMARKS,
            [[table, watermark, rows, self.run_id, dt.datetime.now(dt.UTC)]],
            column_names=["table_name", "watermark", "rows", "run_id", "updated_at"],
        )


def ensure_raw_table(client: Client, table: RawTable) -> list[str]:
    """Create `raw.<table>`, or add the columns the operational schema gained; returns those added."""
    client.command(table.create_sql())
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
                f"ALTER TABLE {table.qualified} ADD COLUMN IF NOT EXISTS `{column.name}` {column.clickhouse_type}{after}"
            )
            added.append(column.name)
        previous = column.name
    return added


def insert_batch(client: Client, target: str, batch: pa.Table, block_rows: int = DEFAULT_INSERT_ROWS) -> int:
    """Insert one batch as Arrow, in blocks of `block_rows`; returns the Arrow bytes sent."""
    sent = 0
    for start in range(0, batch.num_rows, block_rows):
        block = batch.slice(start, block_rows)
        client.insert_arrow(target, block)
        sent += block.nbytes
        if start == 0 and batch.num_rows > block_rows:
            crash_point("mid-batch")
    return sent


def _now() -> pa.Scalar:
    return pa.scalar(dt.datetime.now(dt.UTC), pa.timestamp("ms", tz="UTC"))


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
    """Copy rows with change_seq > after into `target`, batch by batch; `acknowledge(last, rows)` runs
    after each batch is in the warehouse. Returns the last change_seq copied."""
    while True:
        batch = source.read_batch(table, after, batch_rows)
        if batch.num_rows == 0:
            return after
        last = int(batch.column(CHANGE_SEQ)[-1].as_py())
        result.bytes += insert_batch(client, target, with_load_columns(batch, _now()), insert_rows)
        crash_point("after-load")
        if acknowledge is not None:
            acknowledge(last, batch.num_rows)
        result.rows += batch.num_rows
        result.batches += 1
        after = last
        if progress:
            progress(table.name, batch.num_rows)
        if batch.num_rows < batch_rows:
            return after


def load_incremental(
    source: Source,
    client: Client,
    table: RawTable,
    watermarks: Watermarks,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: Progress | None = None,
    insert_rows: int = DEFAULT_INSERT_ROWS,
) -> TableLoad:
    started = time.perf_counter()
    result = TableLoad(table.name)
    result.added_columns = ensure_raw_table(client, table)
    after = watermarks.get(table.name)
    if result.added_columns and after:
        # Old rows are in raw without the new column: send them again, the reload replaces them.
        result.mode, after = "reload (schema changed)", 0
    after = _copy_batches(source, client, table, table.qualified, after, result, batch_rows, insert_rows, progress,
                          acknowledge=lambda last, rows: watermarks.set(table.name, last, rows))  # fmt: skip
    result.watermark = after
    result.seconds = time.perf_counter() - started
    return result


def load_full_refresh(
    source: Source,
    client: Client,
    table: RawTable,
    watermarks: Watermarks,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: Progress | None = None,
    insert_rows: int = DEFAULT_INSERT_ROWS,
) -> TableLoad:
    """Reload a table from scratch into a side table, then swap it in atomically (readers never see a gap)."""
    started = time.perf_counter()
    result = TableLoad(table.name, mode="full refresh")
    ensure_raw_table(client, table)
    side = f"{table.name}__refresh"
    client.command(f"DROP TABLE IF EXISTS {RAW_DATABASE}.`{side}`")
    client.command(table.create_sql(side))
    target = f"{RAW_DATABASE}.`{side}`"
    after = _copy_batches(source, client, table, target, 0, result, batch_rows, insert_rows, progress)
    client.command(f"EXCHANGE TABLES {table.qualified} AND {RAW_DATABASE}.`{side}`")
    client.command(f"DROP TABLE {RAW_DATABASE}.`{side}`")
    watermarks.set(table.name, after, result.rows)
    result.watermark = after
    result.seconds = time.perf_counter() - started
    return result


def load_window(
    source: Source, client: Client, table: RawTable, start: dt.datetime, end: dt.datetime, column: str = "updated_at"
) -> TableLoad:
    """Backfill: send again the rows whose `column` falls in [start, end); the watermark does not move."""
    started = time.perf_counter()
    result = TableLoad(table.name, mode=f"backfill {start:%Y-%m-%d %H:%M}..{end:%Y-%m-%d %H:%M}")
    ensure_raw_table(client, table)
    if source.dialect == "sqlite":  # SQLite compares the stored naive-UTC text
        bounds: tuple[object, object] = (_naive_utc_text(start), _naive_utc_text(end))
    else:
        bounds = (start, end)
    batch = source.read_window(table, column, *bounds)
    if batch.num_rows:
        result.bytes = insert_batch(client, table.qualified, with_load_columns(batch, _now()))
    result.rows = batch.num_rows
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


def new_run_id() -> str:
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
