"""The cache of simulated histories (simulator/cache.py): its key follows everything a history depends on, a
history copied from it is the one a simulation writes, and a damaged or half-written entry is never used."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import select

from operational_api.db import Store
from operational_api.migrate import upgrade
from operational_api.models import Customer, table_of
from operational_api.security import verify_pin
from operational_api.services.alert_rules import create_defaults, default_rules
from pulse.core.paths import REPO
from pulse.core.settings import Settings
from simulator import cache
from simulator.config import SalesDrop, SimConfig
from simulator.rng import customer_pin
from tests.simulator.conftest import END
from tests.simulator.test_determinism import feed_files, snapshot

CFG = SimConfig(seed=7, days=20, end=END, scale=0.02)


@dataclasses.dataclass
class Home:
    settings: Settings
    store: Store
    cfg: SimConfig = CFG


def migrated_home(path: Path, *, revision: str = "head", rules: bool = True) -> Home:
    """A PULSE_HOME as the demo has it before the history: a migrated store with the default alert rules."""
    path.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{path / 'ops.db'}"
    upgrade(url, revision)
    settings = Settings(home=path, ops_database_url=url)
    store = Store(settings=settings)
    if rules:
        with store.write() as session:
            create_defaults(session, default_rules(settings))
    return Home(settings, store)


def run(home: Home, cache_dir: Path) -> bool:
    _, cached = cache.run_history_cached(home.store, home.settings, home.cfg, cache_dir, show_progress=False)
    return cached


def key_of(home: Home, cfg: SimConfig) -> str:
    path = cache.sqlite_path(home.store)
    assert path is not None
    return cache.cache_key(cfg, cache.store_state(path)[0])


def test_the_key_changes_with_everything_the_history_depends_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = migrated_home(tmp_path / "home")
    try:
        base = key_of(home, CFG)
        assert key_of(home, CFG) == base
        assert key_of(migrated_home(tmp_path / "again"), CFG) == base  # same store state, wall clock aside
        others = [dataclasses.replace(CFG, seed=8), dataclasses.replace(CFG, days=21),
                  dataclasses.replace(CFG, scale=0.03), dataclasses.replace(CFG, profile="us-vending"),
                  dataclasses.replace(CFG, mixed_currencies=True), dataclasses.replace(CFG, bad_rows=True),
                  dataclasses.replace(CFG, end=END - dt.timedelta(days=1)),
                  dataclasses.replace(CFG, sales_drop=SalesDrop("H002", 80))]  # fmt: skip
        keys = {key_of(home, cfg) for cfg in others}
        assert base not in keys and len(keys) == len(others)
        # Another migration head, or other rows in the store before the history: another key.
        assert key_of(migrated_home(tmp_path / "older", revision="0007", rules=False), CFG) != base
        assert key_of(migrated_home(tmp_path / "bare", rules=False), CFG) != base
        # The simulator's code: one changed character in one source file.
        copy = tmp_path / "src" / "simulator"
        shutil.copytree(REPO / "simulator", copy, ignore=shutil.ignore_patterns("__pycache__"))
        monkeypatch.setattr(cache, "REPO", tmp_path / "src")
        monkeypatch.setattr(cache, "SOURCE_DIRS", (copy,))
        unchanged = key_of(home, CFG)
        with open(copy / "rng.py", "a") as handle:
            handle.write("#\n")
        assert key_of(home, CFG) != unchanged
    finally:
        home.store.dispose()


def test_a_cached_history_is_the_simulated_one(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    first, second = migrated_home(tmp_path / "first"), migrated_home(tmp_path / "second")
    time.sleep(0.01)
    try:
        assert run(first, cache_dir) is False  # simulated, then stored
        (entry,) = [p for p in cache_dir.iterdir() if not p.name.startswith(".")]
        assert cache.valid_manifest(entry) is not None
        assert run(second, cache_dir) is True  # copied
        one, two = (snapshot(h) for h in (first, second))  # type: ignore[arg-type]
        assert sum(len(rows) for rows in one.values()) > 5_000
        assert one == two
        assert feed_files(first.settings.home) == feed_files(second.settings.home)
        world = "simulator/world.json"
        assert (first.settings.home / world).read_text() == (second.settings.home / world).read_text()
        # The rules that were there before keep their own creation time; every row its change number.
        with (closing(sqlite3.connect(first.settings.home / "ops.db")) as a,
              closing(sqlite3.connect(second.settings.home / "ops.db")) as b):  # fmt: skip
            query = "SELECT id, created_at, change_seq FROM alert_rules ORDER BY id"
            rules_a, rules_b = a.execute(query).fetchall(), b.execute(query).fetchall()
            assert [r[2] for r in rules_a] == [r[2] for r in rules_b] and len(rules_b) >= 5
            own = {r[0]: r[1] for r in b.execute(query)}
            assert rules_b == [(i, own[i], seq) for i, _, seq in rules_a]
        # Each PULSE_HOME has its own pepper: the copied customers' PINs work with the second one's.
        assert first.store.pepper != second.store.pepper
        customers = table_of(Customer)
        with second.store.read() as session:
            rows = session.execute(select(customers.c.client_id, customers.c.pin_hash)).all()
        assert rows and all(verify_pin(customer_pin(CFG.seed, c), h, second.store.pepper) for c, h in rows[:20])
    finally:
        first.store.dispose()
        second.store.dispose()


def test_a_damaged_or_half_written_entry_is_not_used(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    home = migrated_home(tmp_path / "first")
    try:
        assert run(home, cache_dir) is False
    finally:
        home.store.dispose()
    (entry,) = list(cache_dir.iterdir())
    damages = {
        "truncated store": lambda e: (e / "ops.db").write_bytes((e / "ops.db").read_bytes()[:4096]),
        "feed file missing": lambda e: next((e / "landing").rglob("*.csv")).unlink(),
        "extra file": lambda e: (e / "landing" / "stray.csv").write_text("x\n"),
        "no manifest (half written)": lambda e: (e / cache.MANIFEST).unlink(),
        "manifest cut short": lambda e: (e / cache.MANIFEST).write_text((e / cache.MANIFEST).read_text()[:100]),
        "changed byte": lambda e: _flip_last_byte(e / "world.json"),
    }
    pristine = tmp_path / "pristine"
    shutil.copytree(entry, pristine)
    for n, (what, damage) in enumerate(damages.items()):
        shutil.rmtree(entry)
        shutil.copytree(pristine, entry)
        damage(entry)
        assert cache.valid_manifest(entry) is None, what
        other = migrated_home(tmp_path / f"home{n}")
        try:
            assert run(other, cache_dir) is False, what  # simulated again, the entry replaced by a whole one
            assert cache.valid_manifest(entry) is not None, what
        finally:
            other.store.dispose()
        if n == 1:
            break  # a simulation per case is slow: the rest are checked on the manifest alone
    for what, damage in list(damages.items())[2:]:
        shutil.rmtree(entry)
        shutil.copytree(pristine, entry)
        damage(entry)
        assert cache.valid_manifest(entry) is None, what
    manifest = json.loads((pristine / cache.MANIFEST).read_text())
    assert set(manifest["files"]) >= {"ops.db", "world.json"}


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
