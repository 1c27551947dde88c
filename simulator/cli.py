"""`pulse simulate`: the deterministic business simulator (history into the store, or live over HTTP)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from pulse.core.console import PulseError, console
from pulse.core.settings import get_settings


def simulate(
    history: Annotated[bool, typer.Option("--history", help="Write a window of history into the store.")] = False,
    live: Annotated[bool, typer.Option("--live", help="Drive the running API over HTTP like its clients.")] = False,
    days: Annotated[int, typer.Option(help="History: days simulated, ending at --end.")] = 365,
    end: Annotated[str | None, typer.Option(help="History: last day (YYYY-MM-DD). Default: today (UTC).")] = None,
    scale: Annotated[float, typer.Option(help="History: 1.0 = 136 hospitals, ~13,600 customers.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Same seed, same business.")] = 42,
    bad_rows: Annotated[
        bool, typer.Option("--bad-rows", help="History: put a few malformed rows in the feeds.")
    ] = False,
    profile: Annotated[
        str | None,
        typer.Option(help="History: the business, ru-clinics or us-vending. Default: PULSE_DEMO_PROFILE."),
    ] = None,
    mixed_currencies: Annotated[
        bool,
        typer.Option(
            "--mixed-currencies",
            help="History: keep a share of accounts (their vends, top-ups) and deals in foreign currencies.",
        ),
    ] = False,
    sales_drop: Annotated[
        str | None,
        typer.Option(
            help="History: CODE:PERCENT[:DAYS], one hospital's staff buy PERCENT fewer kits over the last DAYS days "
            "(default 1), e.g. H002:80: what a metric alert on a hospital's daily kits catches.",
        ),
    ] = None,
    cache_dir: Annotated[
        str | None,
        typer.Option(
            help="History: copy the history from this cache when it holds exactly this one (same simulator code, "
            "settings and store), else simulate and store it there (SQLite stores only).",
        ),
    ] = None,
    duration: Annotated[float, typer.Option(help="Live: seconds to run.")] = 60.0,
    rate: Annotated[float, typer.Option(help="Live: requests per second, all clients together.")] = 20.0,
    machines: Annotated[int, typer.Option(help="Live: concurrent machines (a third offline).")] = 6,
    max_requests: Annotated[int | None, typer.Option(help="Live: request budget. Default: rate x duration.")] = None,
) -> None:
    """Simulate the business: `--history` (fast, into the store, plus landing feeds) or `--live` (over HTTP)."""
    if history == live:
        raise PulseError("choose one of --history or --live", hint="pulse simulate --history --scale 0.05 --days 30")
    from operational_api.db import Store
    from operational_api.migrate import NotMigrated
    from simulator.history import SimulationError

    settings = get_settings()
    store = Store(settings=settings)
    try:
        if history:
            _history(store, days=days, end=end, scale=scale, seed=seed, bad_rows=bad_rows,
                     profile=profile or settings.demo_profile, mixed_currencies=mixed_currencies,
                     sales_drop=sales_drop, cache_dir=cache_dir)  # fmt: skip
        else:
            _live(store, duration=duration, rate=rate, machines=machines, max_requests=max_requests, seed=seed)
    except NotMigrated as err:
        raise PulseError(str(err), hint="pulse api migrate") from None
    except (SimulationError, ValueError) as err:
        raise PulseError(str(err)) from None
    finally:
        store.dispose()


def _history(
    store: object,
    *,
    days: int,
    end: str | None,
    scale: float,
    seed: int,
    bad_rows: bool,
    profile: str,
    mixed_currencies: bool,
    sales_drop: str | None,
    cache_dir: str | None = None,
) -> None:
    from pathlib import Path

    from rich.table import Table

    from operational_api.db import Store
    from simulator.config import SalesDrop, SimConfig
    from simulator.history import run_history
    from simulator.stats import table_counts

    assert isinstance(store, Store)
    last_day = dt.date.fromisoformat(end) if end else None
    cfg = SimConfig(seed=seed, days=days, end=last_day, scale=scale, bad_rows=bad_rows, profile=profile,
                    mixed_currencies=mixed_currencies,
                    sales_drop=SalesDrop.parse(sales_drop) if sales_drop else None)  # fmt: skip
    settings = store.settings
    if cfg.business.business.currency != settings.business.currency:
        console.print(f"[yellow]note[/yellow]: the {profile} business is in {cfg.business.business.currency}, "
                      f"reported in {settings.business.currency} (PULSE_DEMO_PROFILE, PULSE_REPORTING_CURRENCY)")  # fmt: skip
    console.print(f"simulating {profile} {cfg.first_day} .. {cfg.last_day}: {cfg.hospitals} hospitals, "
                  f"{cfg.customers:,} customers, seed {seed}" + (", mixed currencies" if mixed_currencies else "")
                  + (f", sales drop {sales_drop}" if sales_drop else ""))  # fmt: skip
    if cache_dir:
        from simulator.cache import run_history_cached

        result, cached = run_history_cached(store, settings, cfg, Path(cache_dir))
    else:
        result, cached = run_history(store, settings, cfg), False
    table = Table("table", "rows", "writes (inserts + updates)")
    counts = table_counts(store)
    for name, count in counts.items():
        table.add_row(name, f"{count:,}", f"{result.rows.get(name, 0):,}")
    console.print(table)
    feeds = ", ".join(f"{feed} {rows:,} rows" for feed, rows in result.feed_rows.items() if rows)
    console.print(f"feeds in {settings.landing_dir}: {feeds or 'none for this business'}")
    total = sum(result.rows.values())
    if cached:
        console.print(f"[green]done[/green] in {result.seconds:.1f} s ({total:,} rows copied from the cache)")
    else:
        console.print(
            f"[green]done[/green] in {result.seconds:.1f} s ({total / max(result.seconds, 1e-9):,.0f} rows/s)"
        )


def _live(store: object, *, duration: float, rate: float, machines: int, max_requests: int | None, seed: int) -> None:
    import asyncio

    from rich.table import Table

    from operational_api.db import Store
    from simulator.live import LiveConfig, drive
    from simulator.live_world import load_world, revoke_keys

    assert isinstance(store, Store)
    if duration <= 0 or rate <= 0 or machines < 1:
        raise PulseError("--duration and --rate must be positive, --machines at least 1")
    cfg = LiveConfig(duration=duration, rate=rate, machines=machines, max_requests=max_requests, seed=seed)
    world = load_world(store, store.settings, customers=cfg.customers)
    console.print(f"driving {world.base_url} for {duration:g} s at up to {rate:g} requests/s")
    try:
        report = asyncio.run(drive(world, cfg))
    finally:
        revoke_keys(store, world.key_ids)
    table = Table("request", "count")
    for name, count in sorted(report.requests.items()):
        table.add_row(name, str(count))
    console.print(table)
    console.print(f"vends sent {report.vends_sent}, stored {report.vends_created}; replays {report.replays} "
                  f"(changed responses {report.replay_mismatches}, created again {report.replays_that_created}); 5xx {report.server_errors}, "
                  f"transport errors {report.transport_errors}")  # fmt: skip
    if report.server_errors or report.replay_mismatches or report.replays_that_created:
        raise PulseError("the API answered with server errors or replays differed")
