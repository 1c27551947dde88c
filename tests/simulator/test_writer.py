"""The history's bulk writer defers SQLite's WAL checkpoints to the end of the history, and makes them then."""

from __future__ import annotations

from pathlib import Path

from tests.simulator.conftest import simulate


def test_the_deferred_checkpoint_is_made_and_the_default_comes_back(tmp_path: Path) -> None:
    sim = simulate(tmp_path / "sim", seed=9, days=20, scale=0.02)
    try:
        wal = tmp_path / "sim" / "ops.db-wal"
        assert not wal.exists() or wal.stat().st_size == 0  # every day's pages are in the database file
        raw = sim.store.write_engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA wal_autocheckpoint")
            assert cursor.fetchone() == (1000,)
        finally:
            raw.close()
    finally:
        sim.store.dispose()
