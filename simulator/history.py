"""`pulse simulate --history`: a year (or any window) of the business written straight into the store
day by day (one transaction per simulated day, set-based Core inserts), plus the landing feeds."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from operational_api import models as m
from operational_api.db import Store
from operational_api.migrate import check_migrated
from pulse.core.console import console
from pulse.core.processes import ALERTS_SERVICE, beating
from pulse.core.settings import Settings
from simulator.config import SimConfig
from simulator.crm_sim import CrmSim
from simulator.crm_world import build_crm_world
from simulator.feeds import FeedWriter
from simulator.finance_sim import FinanceSim
from simulator.pins import hash_pins
from simulator.rng import customer_pin
from simulator.vending_sim import VendingSim
from simulator.vending_world import build_vending_world, customer_row
from simulator.writer import Ids, Timeline, apply_day, deferred_checkpoints, store_is_empty, sync_sequences


class SimulationError(RuntimeError):
    """The simulation cannot run as asked (e.g. the store already holds data)."""


@dataclass
class HistoryResult:
    seconds: float
    rows: Counter[str] = field(default_factory=Counter)  # rows written (inserts + updates) per table
    feed_rows: dict[str, int] = field(default_factory=dict)
    events: Counter[str] = field(default_factory=Counter)


def world_file(settings: Settings) -> Path:
    return settings.home / "simulator" / "world.json"


def run_history(store: Store, settings: Settings, cfg: SimConfig, *, show_progress: bool = True) -> HistoryResult:
    began = time.perf_counter()
    check_migrated(store.write_engine)
    busy = store_is_empty(store)
    if busy:
        raise SimulationError(f"the operational store already holds data ({', '.join(busy)}): a history run "
                              "needs an empty store (use a fresh PULSE_HOME or database)")  # fmt: skip
    if beating(settings, ALERTS_SERVICE, settings.alerts_interval_seconds):
        # It would raise alerts in the store while the history is written, taking ids the history has planned.
        raise SimulationError("the alerts service is running on this store: stop it (`pulse down`), write the "
                              "history, then `pulse up`")  # fmt: skip
    ids = Ids()
    timeline = Timeline(cfg.stop)
    feeds = FeedWriter(settings.landing_dir, cfg.first_day, cfg.last_day)
    vending_world = build_vending_world(cfg, ids, timeline)
    crm_world = build_crm_world(cfg, ids, timeline)

    pins = [customer_pin(cfg.seed, c.client_id) for c in vending_world.customers]
    with console.status("hashing customers' PINs", spinner="dots") if show_progress else nullcontext():
        hashes = hash_pins(pins, store.pepper)
    for customer, pin_hash in zip(vending_world.customers, hashes, strict=True):
        row = customer_row(cfg, customer, vending_world.hospitals[customer.hospital], pin_hash)
        timeline.insert(m.Customer, row, customer.registered_at)

    vending = VendingSim(cfg, vending_world, ids, timeline, [op.id for op in crm_world.support])
    crm = CrmSim(cfg, crm_world, ids, timeline, feeds) if cfg.business.clinics else None
    finance = FinanceSim(cfg, ids, timeline, feeds, crm)
    result = HistoryResult(seconds=0.0)
    days = [cfg.first_day + dt.timedelta(days=n) for n in range(cfg.days)]
    progress = Progress(
        TextColumn("[bold]simulating[/bold] {task.fields[day]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
        console=console,
        disable=not show_progress,
    )
    with progress, deferred_checkpoints(store):
        task = progress.add_task("history", total=len(days), day="", rows=0)
        for day in days:
            vending.run_day(day)
            if crm is not None:
                crm.run_day(day)
            finance.run_day(day)
            if day == cfg.last_day:
                vending.finish()
            result.rows.update(apply_day(store, timeline.take_until(day)))
            progress.update(task, advance=1, day=day.isoformat(), rows=sum(result.rows.values()))
    sync_sequences(store)
    clinic_days = days if crm is not None else []  # a vending network has no telephony, ads or patient messages
    fx_days = finance.fx_days if cfg.business.business.currency == "RUB" else []  # the Russian central bank's feed
    result.feed_rows = feeds.write(seed=cfg.seed, bad_rows=cfg.bad_rows, days_for={
        "telephony": clinic_days, "ad_spend": clinic_days, "messages": clinic_days, "fx": fx_days})  # fmt: skip
    result.events = vending.stats + (crm.stats if crm is not None else Counter()) + finance.stats
    path = world_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"seed": cfg.seed, "scale": cfg.scale, "days": cfg.days, "profile": cfg.profile,
                                "mixed_currencies": cfg.mixed_currencies,
                                "sales_drop": dataclasses.asdict(cfg.sales_drop) if cfg.sales_drop else None,
                                "first_day": cfg.first_day.isoformat(),
                                "last_day": cfg.last_day.isoformat()}) + "\n")  # fmt: skip
    result.seconds = time.perf_counter() - began
    return result
