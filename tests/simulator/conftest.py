"""Fixtures: a simulated business in a real, migrated SQLite file per test (or per module)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from operational_api.db import Store
from operational_api.migrate import upgrade
from pulse.core.settings import Settings
from simulator.config import SimConfig
from simulator.history import HistoryResult, run_history

END = dt.date(2026, 3, 31)


@dataclass
class Simulated:
    settings: Settings
    store: Store
    result: HistoryResult
    cfg: SimConfig


def simulate(home: Path, *, url: str | None = None, **cfg: object) -> Simulated:
    home.mkdir(parents=True, exist_ok=True)
    url = url or f"sqlite:///{home / 'ops.db'}"
    upgrade(url)
    settings = Settings(home=home, ops_database_url=url)
    store = Store(settings=settings)
    config = SimConfig(**{"end": END, **cfg})  # type: ignore[arg-type]
    return Simulated(settings, store, run_history(store, settings, config, show_progress=False), config)


@pytest.fixture(scope="module")
def business(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulated]:
    """One quarter at 3% scale, with bad feed rows: the shape checks read it."""
    sim = simulate(tmp_path_factory.mktemp("business"), seed=11, days=91, scale=0.03, bad_rows=True)
    yield sim
    sim.store.dispose()
