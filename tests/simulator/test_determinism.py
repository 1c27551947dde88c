"""Same seed, same business (rows and feed files); another seed, another business; scale honoured."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from operational_api.models import Base, Customer, Hospital, VendTransaction
from pulse.core.processes import ALERTS_SERVICE, heartbeat_path
from pulse.core.settings import Settings
from simulator.history import SimulationError, run_history
from tests.simulator.conftest import Simulated, simulate

# The only column that is not a function of the seed: PIN hashes are salted at random (and peppered
# with the installation's own secret), as the service layer makes them.
NOT_SEEDED = {("customers", "pin_hash")}


def snapshot(sim: Simulated) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    with sim.store.read() as session:
        for table in Base.metadata.sorted_tables:
            if not table.info.get("extract", True):
                continue
            columns = [c for c in table.columns if (table.name, c.key) not in NOT_SEEDED]
            out[table.name] = [tuple(row) for row in session.execute(select(*columns).order_by(table.c.id))]
    return out


def feed_files(home: Path) -> dict[str, bytes]:
    landing = home / "landing"
    return {str(p.relative_to(landing)): p.read_bytes() for p in sorted(landing.rglob("*")) if p.is_file()}


def test_same_seed_same_business_other_seed_another(tmp_path: Path) -> None:
    runs = [simulate(tmp_path / name, seed=seed, days=40, scale=0.02, bad_rows=True)
            for name, seed in (("a", 5), ("b", 5), ("c", 6))]  # fmt: skip
    try:
        a, b, c = (snapshot(run) for run in runs)
        assert sum(len(rows) for rows in a.values()) > 5_000
        for table in a:
            assert a[table] == b[table], f"{table} differs between two runs with the same seed"
        files_a, files_b, files_c = (feed_files(run.settings.home) for run in runs)
        assert len(files_a) > 100
        assert files_a == files_b
        assert a["vend_transactions"] != c["vend_transactions"]
        assert a["leads"] != c["leads"]
        assert files_a != files_c
    finally:
        for run in runs:
            run.store.dispose()


def test_scale_multiplies_the_business(tmp_path: Path) -> None:
    small = simulate(tmp_path / "small", seed=3, days=21, scale=0.01)
    big = simulate(tmp_path / "big", seed=3, days=21, scale=0.04)

    def count(sim: Simulated, model: type[Base]) -> int:
        with sim.store.read() as session:
            return int(session.execute(select(func.count()).select_from(model)).scalar_one())

    try:
        assert count(small, Customer) == small.cfg.customers == 136
        assert count(big, Customer) == big.cfg.customers == 544
        assert count(big, Hospital) == 5 and count(small, Hospital) == 2
        ratio = count(big, VendTransaction) / count(small, VendTransaction)
        assert 2.5 < ratio < 6, ratio
    finally:
        small.store.dispose()
        big.store.dispose()


def test_history_refuses_a_store_that_already_has_data(business: Simulated) -> None:
    with pytest.raises(SimulationError, match="already holds data"):
        run_history(business.store, business.settings, business.cfg, show_progress=False)


def test_history_refuses_a_store_the_alerts_service_is_watching(tmp_path: Path) -> None:
    # A live alerts service (its heartbeat fresh, its pid this process) would raise alerts while the history is
    # written, taking ids the history has planned.
    beat = heartbeat_path(Settings(home=tmp_path), ALERTS_SERVICE)
    beat.parent.mkdir(parents=True)
    beat.write_text(str(os.getpid()))
    with pytest.raises(SimulationError, match="alerts service is running"):
        simulate(tmp_path, seed=1, days=2, scale=0.01)
