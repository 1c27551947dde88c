"""`pulse extract`: one extraction run over the chosen tables, with progress and a summary."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

from clickhouse_connect.driver.client import Client
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from extractors.engine_copy import WarehouseRead, warehouse_reads_store
from extractors.load import (
    TableLoad,
    Watermarks,
    load_full_refresh,
    load_incremental,
    load_window,
    select_tables,
)
from extractors.page_copy import reader_binary
from extractors.raw_schema import CHANGE_SEQ, RawTable
from extractors.source import Source
from operational_api.db import database_url
from pulse.core.console import console
from pulse.core.run_ids import new_run_id
from pulse.core.settings import Settings, get_settings
from warehouse.client import connect
from warehouse.ddl import WarehouseDDL


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[Progress | None]:
    if not enabled:
        yield None
        return
    columns = (TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        yield progress


def extract(
    settings: Settings | None = None,
    tables: Sequence[str] | None = None,
    *,
    full_refresh: bool = False,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    batch_rows: int | None = None,
    show_progress: bool = False,
) -> list[TableLoad]:
    """Extract the operational store into `raw`: incremental by default, full refresh or a backfill window."""
    settings = settings or get_settings()
    batch_rows = batch_rows or settings.extract_batch_rows
    chosen = select_tables(tables)
    client = connect(settings, compress=settings.extract_compression or False)
    source = Source(database_url(settings), reader_process_rows=settings.extract_reader_process_rows)
    watermarks = Watermarks(client, new_run_id("extract"), WarehouseDDL.from_settings(settings))
    watermarks.ensure()
    results: list[TableLoad] = []
    warehouse_read: WarehouseRead | None = None
    try:
        warehouse_read = _warehouse_read(settings, client, source)
        with source.snapshot(), _progress(show_progress) as progress:
            task_of = {}
            if progress is not None:
                known = watermarks.all()
                for table in chosen:
                    after = 0 if full_refresh else known.get(table.name, 0)
                    pending = source.scalar(f'SELECT count(*) FROM "{table.name}" WHERE "{CHANGE_SEQ}" > {int(after)}')
                    task_of[table.name] = progress.add_task(table.name, total=int(pending or 0))

            def advance(name: str, rows: int) -> None:
                if progress is not None:
                    progress.advance(task_of[name], rows)

            def load_one(table: RawTable, client: Client, watermarks: Watermarks) -> TableLoad:
                if since is not None or until is not None:
                    start = since or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
                    end = until or dt.datetime.now(dt.UTC)
                    result = load_window(source, client, table, start, end, ddl=watermarks.ddl)
                else:
                    load = load_full_refresh if full_refresh else load_incremental
                    result = load(
                        source,
                        client,
                        table,
                        watermarks,
                        batch_rows=batch_rows,
                        insert_rows=settings.extract_insert_rows,
                        progress=advance,
                        warehouse_read=warehouse_read,
                    )
                if progress is not None:
                    progress.update(task_of[table.name], completed=progress.tasks[task_of[table.name]].total)
                return result

            if warehouse_read is None or since is not None or until is not None:
                results.extend(load_one(table, client, watermarks) for table in chosen)
            else:
                # The server does the work: tables are loaded side by side, so that the fixed cost of each
                # (its DDL check, watermark, bounds) overlaps the others' copies. Session-less clients: the
                # server runs one statement at a time per session.
                lender = warehouse_read.lender()

                def load_table(table: RawTable) -> TableLoad:
                    with lender.borrow() as stream:
                        return load_one(table, stream, Watermarks(stream, watermarks.run_id, watermarks.ddl))

                with ThreadPoolExecutor(len(warehouse_read.clients), thread_name_prefix="extract") as pool:
                    results.extend(pool.map(load_table, chosen))
            if since is None and until is None and not full_refresh:
                unchanged = {r.table: r.watermark for r in results if r.rows == 0}
                if unchanged:
                    watermarks.checked(unchanged)
    finally:
        if warehouse_read is not None:
            warehouse_read.close()
        source.close()
        client.close()
    return results


def _warehouse_read(settings: Settings, client: Client, source: Source) -> WarehouseRead | None:
    """How big backlogs are copied this run (from the store's pages, or by the warehouse reading the store), or
    None: read here and sent as Arrow. Asked before the snapshot opens (the check compares the server's view
    of the store with this process's, which a held snapshot would freeze)."""
    pages = reader_binary() if settings.extract_page_read == "auto" and source.sqlite_path is not None else None
    path = None
    if settings.extract_warehouse_read != "never":
        if source.sqlite_path is not None and warehouse_reads_store(client, source):
            path = source.sqlite_path
        elif settings.extract_warehouse_read == "always":
            raise RuntimeError(
                "PULSE_EXTRACT_WAREHOUSE_READ=always, but the warehouse server cannot read the store "
                f"({database_url(settings)}): it must be a SQLite file the server can open, and the loader its admin"
            )
    if path is None and pages is None:
        return None
    # Own clients without a session: statements of one session run one after the other.
    streams = [
        connect(settings, compress=False, autogenerate_session_id=False)
        for _ in range(settings.extract_warehouse_streams)
    ]
    return WarehouseRead(path, tuple(streams), settings.extract_reader_process_rows, pages)


def summary_table(results: Sequence[TableLoad]) -> Table:
    table = Table(title="Extract-load summary")
    for name in ("table", "mode", "route", "rows", "MiB", "seconds", "rows/s", "watermark", "new columns"):
        table.add_column(name, justify="left" if name in ("table", "mode", "route", "new columns") else "right")
    for r in results:
        rate = f"{r.rows / r.seconds:,.0f}" if r.seconds and r.rows else "-"
        table.add_row(
            r.table,
            r.mode,
            r.route if r.rows else "",
            f"{r.rows:,}",
            f"{r.bytes / 2**20:.1f}",
            f"{r.seconds:.2f}",
            rate,
            str(r.watermark),
            ", ".join(r.added_columns),
        )
    total_rows = sum(r.rows for r in results)
    total_seconds = sum(r.seconds for r in results)
    table.add_row(
        "[b]total", "", "", f"[b]{total_rows:,}", f"{sum(r.bytes for r in results) / 2**20:.1f}", f"{total_seconds:.2f}",
        f"{total_rows / total_seconds:,.0f}" if total_seconds and total_rows else "-", "", "",
    )  # fmt: skip
    return table
