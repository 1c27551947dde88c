"""Simulate, extract: every operational table equals its raw counterpart row by row (after dedupe),
including updated and tombstoned rows; extracting again changes nothing; crashes converge; new columns
arrive; full refresh and backfill keep the layer exact. Big loads go through the SQLite reader process,
small ones are read in-process: the tests force one or the other (the simulated store is small)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from extractors.load import Watermarks, operational_tables
from extractors.pipeline import extract
from extractors.raw_schema import RawTable
from extractors.reconcile import ReconciliationError, reconcile
from operational_api.models import Base, Hospital, Lead
from pulse.core.settings import Settings
from tests.platform import Platform


def _normal(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "timestamp":
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)
    if kind == "json":
        return json.loads(value) if isinstance(value, str) else value
    if kind == "decimal":
        return Decimal(value)
    return value


def operational_rows(platform: Platform, table: RawTable) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    source = Base.metadata.tables[table.name]
    columns = [source.c[c.name] for c in table.columns]
    key_at = [i for i, c in enumerate(table.columns) if c.name in table.key]
    with platform.store.read() as session:
        rows = session.execute(select(*columns)).all()
    return {
        tuple(row[i] for i in key_at): tuple(_normal(v, c.kind) for v, c in zip(row, table.columns, strict=True))
        for row in rows
    }


def raw_rows(platform: Platform, table: RawTable) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    names = ", ".join(f"`{c.name}`" for c in table.columns)
    rows = platform.client().query(f"SELECT {names} FROM raw.`{table.name}` FINAL").result_rows
    key_at = [i for i, c in enumerate(table.columns) if c.name in table.key]
    return {
        tuple(row[i] for i in key_at): tuple(_normal(v, c.kind) for v, c in zip(row, table.columns, strict=True))
        for row in rows
    }


def assert_raw_equals_operational(platform: Platform) -> None:
    for table in operational_tables():
        expected, actual = operational_rows(platform, table), raw_rows(platform, table)
        assert actual.keys() == expected.keys(), table.name
        different = [k for k in expected if expected[k] != actual[k]]
        assert not different, (
            f"{table.name}: {len(different)} rows differ, e.g. {expected[different[0]]} != {actual[different[0]]}"
        )


def raw_row_counts(platform: Platform) -> dict[str, int]:
    client = platform.client()
    return {t.name: client.query(f"SELECT count() FROM raw.`{t.name}`").result_rows[0][0] for t in operational_tables()}


def with_reader_process(platform: Platform) -> Settings:
    """The platform's settings, with every SQLite table read by the reader process (the test data is small)
    and sent as Arrow (the embedded warehouse would otherwise read the file itself)."""
    update = {"extract_reader_process_rows": 0, "extract_warehouse_read": "never", "extract_page_read": "never"}
    return platform.settings.model_copy(update=update)


def reading(platform: Platform, reader: str) -> Settings:
    """Settings that make extract() read the store the given way."""
    if reader == "reader process":
        return with_reader_process(platform)
    if reader == "in-process":
        return platform.settings.model_copy(update={"extract_warehouse_read": "never", "extract_page_read": "never"})
    if reader == "pages":
        return platform.settings.model_copy(
            update={"extract_warehouse_read": "never", "extract_reader_process_rows": 0}
        )
    update = {"extract_warehouse_read": "always", "extract_reader_process_rows": 0, "extract_page_read": "never"}
    return platform.settings.model_copy(update=update)


@pytest.mark.parametrize("reader", ["in-process", "reader process", "warehouse", "pages"])
def test_raw_equals_operational_with_updates_and_tombstones(platform: Platform, reader: str) -> None:
    settings = reading(platform, reader)
    first = extract(settings)
    assert sum(r.rows for r in first) > 10_000
    assert_raw_equals_operational(platform)

    with platform.store.write() as session:
        for hospital in session.scalars(select(Hospital).where(Hospital.id.in_([1, 2]))):
            hospital.name = "Renamed Hospital"
        lead = session.scalars(select(Lead).order_by(Lead.id).limit(1)).one()
        lead.deleted_at = dt.datetime.now(dt.UTC)
        tombstoned = lead.id
    second = extract(settings)
    moved = {r.table: r.rows for r in second if r.rows}
    assert moved == {"hospitals": 2, "leads": 1}
    assert_raw_equals_operational(platform)
    deleted = platform.client().query(f"SELECT _is_deleted FROM raw.leads FINAL WHERE id = {tombstoned}").result_rows
    assert deleted == [(1,)]

    before = raw_row_counts(platform)
    third = extract(settings)
    assert sum(r.rows for r in third) == 0
    assert raw_row_counts(platform) == before  # a rerun sends nothing at all


def extract_in_subprocess(platform: Platform, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "PULSE_HOME": str(platform.settings.home),
        "PULSE_OPS_DATABASE_URL": str(platform.settings.ops_database_url),
        "PULSE_CLICKHOUSE_URL": platform.settings.clickhouse_url,
        "PULSE_EXTRACT_READER_PROCESS_ROWS": "0",  # crashes matter most for big loads: read as they are
        "PULSE_EXTRACT_WAREHOUSE_READ": "never",  # the reader process's faults; a test may ask for "always"
        "PULSE_EXTRACT_PAGE_READ": "never",  # or "auto", the page reader's
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "pulse", "extract"], env=environment, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    ("fault", "warehouse_read"),
    [("after-load", "never"), ("mid-batch", "never"), ("after-load", "always"), ("after-load", "pages")],
)
def test_crash_then_rerun_converges(platform: Platform, fault: str, warehouse_read: str) -> None:
    small = {
        "PULSE_EXTRACT_BATCH_ROWS": "2000",
        "PULSE_EXTRACT_INSERT_ROWS": "700",
        # always: one INSERT ... SELECT per batch, no mid-batch; pages: one insert per table, from its pages
        "PULSE_EXTRACT_WAREHOUSE_READ": "never" if warehouse_read == "pages" else warehouse_read,
        "PULSE_EXTRACT_PAGE_READ": "auto" if warehouse_read == "pages" else "never",
    }
    crashed = extract_in_subprocess(platform, PULSE_FAULT=f"{fault}:4", **small)
    assert crashed.returncode == -9, crashed.stderr[-2000:]  # killed at the fault point, not a clean exit
    client = platform.client()
    acknowledged = client.query("SELECT sum(rows) FROM raw._pulse_watermarks").result_rows[0][0]
    loaded = client.query(
        "SELECT sum(total_rows) FROM system.tables WHERE database = 'raw' AND NOT startsWith(name, '_')"
    ).result_rows[0][0]
    assert acknowledged > 0
    assert loaded > acknowledged  # rows were sent whose watermark was never recorded
    finished = extract_in_subprocess(platform, **small)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert_raw_equals_operational(platform)
    reconcile(platform.settings, staging=False)


def test_schema_evolution_adds_the_column_with_values(platform: Platform) -> None:
    extract(platform.settings)
    script = textwrap.dedent(
        """
        import sqlite3, sys
        from sqlalchemy import Column, Integer
        from operational_api.models import Base
        from extractors.pipeline import extract
        from pulse.core.settings import Settings

        # The model gains a column and the store is migrated (what an Alembic revision does).
        Base.metadata.tables["hospitals"].append_column(Column("beds", Integer, nullable=True, comment="Beds."))
        db = sqlite3.connect(sys.argv[1])
        db.execute("ALTER TABLE hospitals ADD COLUMN beds INTEGER")
        db.execute("UPDATE hospitals SET beds = id * 10")
        db.commit()
        results = extract(Settings(home=sys.argv[2], ops_database_url="sqlite:///" + sys.argv[1], clickhouse_url=sys.argv[3]))
        print([(r.table, r.added_columns, r.rows) for r in results if r.added_columns])
        """
    )
    home = platform.settings.home
    run = subprocess.run(
        [sys.executable, "-c", script, str(home / "ops.db"), str(home), platform.settings.clickhouse_url],
        env={**os.environ, "PULSE_EXTRACT_READER_PROCESS_ROWS": "0"},  # the reload is a big backlog
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "('hospitals', ['beds']" in run.stdout
    rows = platform.client().query("SELECT id, beds FROM raw.hospitals FINAL ORDER BY id").result_rows
    assert rows
    assert all(beds == hospital_id * 10 for hospital_id, beds in rows)


@pytest.mark.parametrize("reader", ["reader process", "warehouse", "pages"])
def test_full_refresh_and_backfill_keep_the_layer_exact(platform: Platform, reader: str) -> None:
    settings = reading(platform, reader)
    extract(settings)
    watermarks = Watermarks(platform.client(), "check").all()
    refreshed = extract(settings, ["vend_transactions", "customers"], full_refresh=True)
    assert all(r.mode == "full refresh" for r in refreshed)
    counts = raw_row_counts(platform)
    with platform.store.read() as session:
        operational = len(session.execute(select(Base.metadata.tables["vend_transactions"].c.id)).all())
    assert counts["vend_transactions"] == operational  # the swap left no duplicates behind
    assert_raw_equals_operational(platform)

    start = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)
    window = extract(settings, ["account_entries"], since=start, until=start + dt.timedelta(days=3))
    assert window[0].rows > 0
    assert Watermarks(platform.client(), "check").all()["account_entries"] == watermarks["account_entries"]
    assert_raw_equals_operational(platform)


def test_reconciliation_catches_a_lost_row(platform: Platform) -> None:
    extract(platform.settings)
    checks = reconcile(platform.settings, staging=False)
    assert checks
    assert all(c.ok for c in checks)
    client = platform.client()
    client.command("DELETE FROM raw.vend_transactions WHERE id IN (SELECT id FROM raw.vend_transactions LIMIT 1)")
    with pytest.raises(ReconciliationError) as caught:
        reconcile(platform.settings, staging=False)
    assert [c.table for c in caught.value.failed] == ["vend_transactions"]
