"""A cache of simulated histories: the second `pulse demo` copies a store instead of simulating it again.

A history is a function of the simulator's code, what it was asked for (seed, profile, days, window, scale, mixed
currencies, sales drop, bad rows) and the store it was written into (its schema, hence its migration head, and the
rows already there: the default alert rules). The cache key is a hash of all of that: every source file of the
simulator and of the operational models, the `SimConfig` fields with the window's first and last day, and a
fingerprint of the store before the history (every table's definition and rows, wall-clock `created_at` /
`updated_at` left out). Change any of them and the key changes: an entry is never served to another simulator,
another business or another migration head.

An entry is a folder named by the key: `ops.db` (a consistent SQLite copy of the store after the history),
`landing/` (the feeds), `world.json` and `manifest.json` (size and SHA-256 of every file, written last). It is
built in a temporary folder and renamed into place whole; an entry whose files do not match its manifest is
removed and the history simulated again.

Restoring writes the copy into the store through SQLite's backup API (the API may already hold connections: it sees
the new pages like any other write), puts back the wall-clock timestamps of the rows that were there before, and,
when this PULSE_HOME's PIN pepper is not the one the entry was made with, hashes the customers' PINs again with this
one (the PINs derive from the seed; a fresh simulation salts every hash anew anyway). Only SQLite stores with an
empty landing folder are cached: the embedded defaults `pulse demo` runs on.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select, update

from operational_api.db import Store
from pulse.core.console import console
from pulse.core.paths import REPO
from pulse.core.settings import Settings
from simulator.config import SimConfig
from simulator.history import HistoryResult, run_history, world_file

CACHE_FORMAT = 1
MANIFEST = "manifest.json"
KEEP_ENTRIES = 3  # a year at the demo's scale is about 300 MB
WALL_CLOCK_COLUMNS = ("created_at", "updated_at")
# The code a history depends on: the simulator and the models it writes (their schema is in the store fingerprint).
SOURCE_DIRS = (REPO / "simulator", REPO / "operational_api" / "models")


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pulse" / "histories"


def source_digest() -> str:
    digest = hashlib.sha256()
    for folder in SOURCE_DIRS:
        for path in sorted(folder.rglob("*.py")):
            digest.update(f"{path.relative_to(REPO)}\0".encode())
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


def config_fields(cfg: SimConfig) -> dict[str, Any]:
    return {"seed": cfg.seed, "days": cfg.days, "first_day": cfg.first_day.isoformat(),
            "last_day": cfg.last_day.isoformat(), "scale": cfg.scale, "bad_rows": cfg.bad_rows,
            "profile": cfg.profile, "mixed_currencies": cfg.mixed_currencies,
            "sales_drop": repr(cfg.sales_drop) if cfg.sales_drop else None}  # fmt: skip


def sqlite_path(store: Store) -> Path | None:
    """The store's database file, or None when it is not a SQLite file (PostgreSQL, in memory)."""
    url = store.write_engine.url
    if store.dialect != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def _tables(db: sqlite3.Connection) -> list[tuple[str, str]]:
    return list(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                           "ORDER BY name"))  # fmt: skip


def _rows(db: sqlite3.Connection, table: str) -> Iterator[tuple[list[str], tuple[Any, ...]]]:
    cursor = db.execute(f'SELECT rowid, * FROM "{table}" ORDER BY rowid')
    columns = [d[0] for d in cursor.description]
    for row in cursor:
        yield columns, row


def store_state(path: Path) -> tuple[str, dict[str, dict[str, list[Any]]]]:
    """The store before the history: a fingerprint of its schema and rows (wall-clock timestamps left out), and
    those timestamps by table and rowid (restored after a copy)."""
    digest = hashlib.sha256()
    stamps: dict[str, dict[str, list[Any]]] = {}
    with closing(sqlite3.connect(path, timeout=30)) as db:
        for name, sql in _tables(db):
            # Sorted clauses: a migration that rebuilds a table (batch mode) orders its constraints at random.
            clauses = sorted(part.strip() for part in sql.strip().removesuffix(")").split(", \n"))
            digest.update(f"{name}\0{clauses}\0".encode())
            for columns, row in _rows(db, name):
                kept = [value for column, value in zip(columns, row, strict=True) if column not in WALL_CLOCK_COLUMNS]
                digest.update(repr(kept).encode())
                clock = [row[columns.index(c)] for c in WALL_CLOCK_COLUMNS if c in columns]
                if clock:
                    stamps.setdefault(name, {})[str(row[0])] = clock
    return digest.hexdigest(), stamps


def cache_key(cfg: SimConfig, fingerprint: str) -> str:
    inputs = {"format": CACHE_FORMAT, "source": source_digest(), "config": config_fields(cfg), "store": fingerprint}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:32]


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _entry_files(entry: Path) -> list[Path]:
    return sorted(p for p in entry.rglob("*") if p.is_file() and p.name != MANIFEST)


def pepper_fingerprint(pepper: bytes) -> str:
    return hashlib.sha256(b"pulse-history-cache\0" + pepper).hexdigest()


def valid_manifest(entry: Path) -> dict[str, Any] | None:
    """The entry's manifest if every file it lists is there, whole, and nothing else is; else None."""
    try:
        manifest: dict[str, Any] = json.loads((entry / MANIFEST).read_text())
        files: dict[str, list[Any]] = manifest["files"]
        present = {str(p.relative_to(entry)) for p in _entry_files(entry)}
        if manifest.get("format") != CACHE_FORMAT or present != set(files) or "ops.db" not in files:
            return None
        for name, (size, sha) in files.items():
            path = entry / name
            if path.stat().st_size != size or _file_digest(path) != sha:
                return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return manifest


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (other connections may be writing)."""
    with closing(sqlite3.connect(source, timeout=30)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it


def save(entry: Path, store: Store, settings: Settings, result: HistoryResult, stamps: dict[str, Any]) -> None:
    """Write the entry for the history just simulated (a temporary folder renamed into place)."""
    db_path = sqlite_path(store)
    assert db_path is not None
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = entry.parent / f".{entry.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        copy_database(db_path, tmp / "ops.db")
        if settings.landing_dir.exists():
            shutil.copytree(settings.landing_dir, tmp / "landing")
        shutil.copy2(world_file(settings), tmp / "world.json")
        files = {str(p.relative_to(tmp)): [p.stat().st_size, _file_digest(p)] for p in _entry_files(tmp)}
        manifest = {"format": CACHE_FORMAT, "files": files, "pepper": pepper_fingerprint(store.pepper),
                    "stamps": stamps, "rows": dict(result.rows), "feed_rows": result.feed_rows,
                    "events": dict(result.events), "created": time.time()}  # fmt: skip
        (tmp / MANIFEST).write_text(json.dumps(manifest))
        with contextlib.suppress(OSError):  # another run stored the same entry first
            tmp.rename(entry)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    prune(entry.parent)


def prune(cache_dir: Path, keep: int = KEEP_ENTRIES) -> None:
    """Keep the `keep` most recently used entries (and no temporary folder older than a day)."""
    entries = [p for p in cache_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]
    for old in sorted(entries, key=lambda p: p.stat().st_mtime, reverse=True)[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    for tmp in cache_dir.glob(".*.tmp"):
        if time.time() - tmp.stat().st_mtime > 86_400:
            shutil.rmtree(tmp, ignore_errors=True)


def restore(entry: Path, manifest: dict[str, Any], store: Store, settings: Settings, cfg: SimConfig,
            stamps: dict[str, dict[str, list[Any]]]) -> None:  # fmt: skip
    """Copy the entry into this store and PULSE_HOME (feeds and world first, the store last)."""
    db_path = sqlite_path(store)
    assert db_path is not None
    if (entry / "landing").exists():
        shutil.copytree(entry / "landing", settings.landing_dir, dirs_exist_ok=True)
    path = world_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(entry / "world.json", path)
    store.dispose()  # no connection of ours holds the old pages
    with closing(sqlite3.connect(entry / "ops.db")) as src, closing(sqlite3.connect(db_path, timeout=30)) as dst:
        src.backup(dst)
        # The rows that were in the store before the history get their own timestamps back, unless the history
        # changed them.
        cached: dict[str, dict[str, list[Any]]] = manifest["stamps"]
        with dst:
            for table, rows in stamps.items():
                columns = [
                    c for c in WALL_CLOCK_COLUMNS if c in {r[1] for r in dst.execute(f'PRAGMA table_info("{table}")')}
                ]
                for rowid, values in rows.items():
                    if cached.get(table, {}).get(rowid) is None or len(values) != len(columns):
                        continue
                    sets = ", ".join(f'"{c}" = ?' for c in columns)
                    where = " AND ".join(f'"{c}" IS ?' for c in columns)
                    dst.execute(f'UPDATE "{table}" SET {sets} WHERE rowid = ? AND {where}',
                                [*values, int(rowid), *cached[table][rowid]])  # fmt: skip
    if manifest["pepper"] != pepper_fingerprint(store.pepper):
        rehash_pins(store, cfg)


def rehash_pins(store: Store, cfg: SimConfig) -> None:
    """Every customer's PIN hashed with this store's pepper (the history's PINs derive from its seed)."""
    from operational_api import models as m
    from operational_api.models import table_of
    from simulator.pins import hash_pins
    from simulator.rng import customer_pin

    customers = table_of(m.Customer)
    with store.read() as session:
        rows: list[tuple[int, str]] = [
            (r.id, r.client_id) for r in session.execute(select(customers.c.id, customers.c.client_id))
        ]
    with console.status("hashing customers' PINs with this PULSE_HOME's pepper", spinner="dots"):
        hashes = hash_pins([customer_pin(cfg.seed, client_id) for _, client_id in rows], store.pepper)
    if not rows:
        return
    stmt = update(customers).where(customers.c.id == bindparam("_id")).values(pin_hash=bindparam("_hash"))
    with store.write() as session:
        session.connection().execute(stmt, [{"_id": i, "_hash": h} for (i, _), h in zip(rows, hashes, strict=True)])


def landing_is_empty(settings: Settings) -> bool:
    landing = settings.landing_dir
    return not landing.exists() or not any(p.is_file() for p in landing.rglob("*"))


def run_history_cached(
    store: Store, settings: Settings, cfg: SimConfig, cache_dir: Path, *, show_progress: bool = True
) -> tuple[HistoryResult, bool]:
    """`run_history`, served from `cache_dir` when an entry for exactly this history is there (and stored there
    after simulating when not). Returns the result and whether it came from the cache."""
    began = time.perf_counter()
    db_path = sqlite_path(store)
    if db_path is None or not landing_is_empty(settings):
        return run_history(store, settings, cfg, show_progress=show_progress), False
    from operational_api.migrate import check_migrated
    from simulator.writer import store_is_empty

    check_migrated(store.write_engine)
    if store_is_empty(store):  # run_history says why it refuses
        return run_history(store, settings, cfg, show_progress=show_progress), False
    fingerprint, stamps = store_state(db_path)
    entry = cache_dir / cache_key(cfg, fingerprint)
    if entry.exists():
        manifest = valid_manifest(entry)
        if manifest is None:
            console.print(f"[yellow]the cached history {entry} is incomplete or damaged[/yellow]: simulating again")
            shutil.rmtree(entry, ignore_errors=True)
        else:
            _check_can_write(settings)
            restore(entry, manifest, store, settings, cfg, stamps)
            os.utime(entry)  # recently used: kept by prune
            result = HistoryResult(seconds=time.perf_counter() - began, rows=Counter(manifest["rows"]),
                                   feed_rows=manifest["feed_rows"], events=Counter(manifest["events"]))  # fmt: skip
            console.print(f"copied the simulated history from the cache {entry} (same simulator, seed and settings)")
            return result, True
    result = run_history(store, settings, cfg, show_progress=show_progress)
    try:
        save(entry, store, settings, result, stamps)
        console.print(f"cached this history in {entry}: the next demo of it copies it")
    except OSError as err:  # a full disk or read-only cache costs the next run a simulation, not this one
        console.print(f"[yellow]could not cache the history in {cache_dir}[/yellow]: {err}")
    return result, False


def _check_can_write(settings: Settings) -> None:
    """What run_history checks before writing: the alerts service must not be raising alerts in this store."""
    from pulse.core.processes import ALERTS_SERVICE, beating
    from simulator.history import SimulationError

    if beating(settings, ALERTS_SERVICE, settings.alerts_interval_seconds):
        raise SimulationError("the alerts service is running on this store: stop it (`pulse down`), write the "
                              "history, then `pulse up`")  # fmt: skip
