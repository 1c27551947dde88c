"""`pulse extract ...`: load the operational store (and feeds) into the warehouse's raw layer."""

from __future__ import annotations

import datetime as dt

import typer

from pulse.core.console import PulseError, console
from pulse.core.settings import get_settings

app = typer.Typer(help="Extract-load into ClickHouse: operational tables and landing-folder feeds.")


def _when(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise PulseError(
            f"not a date or timestamp: {value!r}", "use ISO format, e.g. 2026-11-01 or 2026-11-01T12:00"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@app.callback(invoke_without_command=True)
def extract(
    ctx: typer.Context,
    table: list[str] = typer.Option(None, "--table", "-t", help="Only these tables (repeatable)."),
    full_refresh: bool = typer.Option(False, "--full-refresh", help="Reload the tables from scratch (atomic swap)."),
    since: str | None = typer.Option(None, help="Backfill rows updated at or after this time (watermark unchanged)."),
    until: str | None = typer.Option(None, help="Backfill rows updated before this time."),
    batch_rows: int | None = typer.Option(None, help="Rows per batch (default PULSE_EXTRACT_BATCH_ROWS)."),
) -> None:
    """Extract the operational tables incrementally (default), fully, or for a backfill window."""
    if ctx.invoked_subcommand is not None:
        return
    from extractors.load import InsertNotConfirmedError
    from extractors.pipeline import extract as run_extract
    from extractors.pipeline import summary_table
    from extractors.reader_process import ReaderProcessError

    settings = get_settings()
    try:
        results = run_extract(
            settings,
            table or None,
            full_refresh=full_refresh,
            since=_when(since),
            until=_when(until),
            batch_rows=batch_rows,
            show_progress=True,
        )
    except KeyError as exc:
        raise PulseError(str(exc.args[0]), "see the table names with `pulse extract tables`") from None
    except (ReaderProcessError, InsertNotConfirmedError) as exc:
        raise PulseError(
            str(exc),
            "fix the cause and run `pulse extract` again: it resumes after the last acknowledged batch "
            "(only batches confirmed by the warehouse moved a watermark)",
        ) from None
    console.print(summary_table(results))


@app.command("tables")
def tables() -> None:
    """List the extracted tables by source group."""
    from extractors.load import source_groups

    for group, names in source_groups().items():
        console.print(f"[b]{group}[/b]: {', '.join(names)}")


@app.command("feeds")
def feeds() -> None:
    """Load new files from the landing location (each file once; bad rows to raw._quarantine)."""
    from rich.table import Table

    from extractors.feeds import load_feeds
    from warehouse.client import connect

    settings = get_settings()
    with console.status(f"loading feeds from {settings.resolved_landing_url}..."):
        results = load_feeds(connect(settings), settings.resolved_landing_url)
    table = Table("feed", "files loaded", "files already loaded", "rows", "quarantined", title="Feeds")
    for feed in sorted({r.feed for r in results}):
        mine = [r for r in results if r.feed == feed]
        table.add_row(
            feed,
            str(sum(not r.skipped for r in mine)),
            str(sum(r.skipped for r in mine)),
            f"{sum(r.rows for r in mine):,}",
            f"{sum(r.quarantined for r in mine):,}",
        )
    console.print(table)


@app.command("reconcile")
def reconcile_command(
    table: list[str] = typer.Option(None, "--table", "-t", help="Only these tables (repeatable)."),
) -> None:
    """Check that raw (and staging) match the operational store; exits 1 on any mismatch."""
    from extractors.reconcile import ReconciliationError, checks_table, reconcile

    try:
        with console.status("reconciling..."):
            checks = reconcile(get_settings(), table or None)
    except ReconciliationError as err:
        console.print(checks_table(err.failed))
        raise PulseError(f"{len(err.failed)} mismatches", "run `pulse extract` and look at the tables listed") from None
    console.print(checks_table(checks))


@app.command("dbt-sources")
def dbt_sources() -> None:
    """Regenerate the dbt sources file for the raw layer from the operational models."""
    from extractors.dbt_sources import write

    console.print(f"wrote {write()}")
