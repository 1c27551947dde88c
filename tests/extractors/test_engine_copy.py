"""The warehouse reading the SQLite store itself (`INSERT ... SELECT FROM sqlite()`) against the Arrow path
(the SQLite reader process, streamed over HTTP): the same raw rows, value for value, on every operational
table and on awkward values; and the check that decides whether the warehouse can read the store."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import clickhouse_connect
import pytest
from sqlalchemy import BigInteger, Column, Integer, MetaData, Numeric, String, Table, create_engine, insert, select

from extractors.engine_copy import Plan, batch_bounds, copy_range, insert_select_sql, warehouse_reads_store
from extractors.load import insert_stream, operational_tables
from extractors.pipeline import extract
from extractors.raw_schema import RAW_DATABASE, RawColumn, RawTable, raw_table
from extractors.reader_process import SQLiteReaderProcess
from extractors.reconcile import reconcile
from extractors.source import Source
from operational_api.models import Hospital
from operational_api.models.base import UTCDateTime
from tests.extractors.test_extract import assert_raw_equals_operational
from tests.extractors.test_reader_process import edge_db, edge_table
from tests.platform import Platform

__all__ = ["edge_db"]  # the fixture, shared with the reader process's tests


def copy_both_ways(platform: Platform, db: Path, table: RawTable, batch_rows: int) -> tuple[str, str]:
    """Load `table` from `db` into two fresh raw tables: by the Arrow path and by the warehouse itself."""
    client = platform.client()
    client.command(f"CREATE DATABASE IF NOT EXISTS {RAW_DATABASE}")
    by_arrow, by_engine = f"{table.name}__arrow", f"{table.name}__engine"
    for name in (by_arrow, by_engine):
        client.command(f"DROP TABLE IF EXISTS {RAW_DATABASE}.`{name}`")
        client.command(table.create_sql(name))
    reader = SQLiteReaderProcess(db)
    try:
        insert_stream(client, f"{RAW_DATABASE}.`{by_arrow}`", table.arrow_schema, reader.stream(table, block_rows=997))
    finally:
        reader.close()
    source = Source(f"sqlite:///{db}")
    try:
        with source.snapshot():
            bounds = batch_bounds(source, table, 0, batch_rows)
            plan = Plan.of(client, source, table, str(db.resolve()))
        after, copied = 0, 0
        for until in bounds:
            copied += copy_range(client, plan, f"{RAW_DATABASE}.`{by_engine}`", after, until).rows
            after = until
    finally:
        source.close()
    assert copied == client.query(f"SELECT count() FROM {RAW_DATABASE}.`{by_engine}`").result_rows[0][0]
    return by_arrow, by_engine


def rows_of(platform: Platform, name: str) -> list[tuple[Any, ...]]:
    """Every row as the warehouse holds it (its text, so nothing is lost to Python types), load time aside."""
    result = platform.client().query(
        f"SELECT toString(tuple(* EXCEPT (_loaded_at))) FROM {RAW_DATABASE}.`{name}` ORDER BY _change_seq"
    )
    return result.result_rows


@pytest.fixture
def ops_copy(platform: Platform, tmp_path: Path) -> Path:
    db = tmp_path / "ops-copy.db"
    shutil.copyfile(Path(str(platform.settings.ops_database_url).removeprefix("sqlite:///")), db)
    return db


def test_every_operational_table_lands_the_same_either_way(platform: Platform, ops_copy: Path) -> None:
    compared = 0
    for table in operational_tables():
        by_arrow, by_engine = copy_both_ways(platform, ops_copy, table, batch_rows=25_000)
        arrow, engine = rows_of(platform, by_arrow), rows_of(platform, by_engine)
        assert engine == arrow, table.name
        compared += len(arrow)
    assert compared > 10_000


AWKWARD = Table(
    "awkward",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("name", String(200)),
    Column("amount", Numeric(38, 10)),
    Column("at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime()),
    Column("change_seq", BigInteger, nullable=False, index=True),
)


@pytest.fixture
def awkward_db(tmp_path: Path) -> Path:
    """Unicode beyond the BMP and right-to-left, control characters, backslashes and quotes, big and tiny
    decimals (as the ORM stores them, and as text a different writer left), and moments written in other
    time zones (the column type stores them as UTC)."""
    db = tmp_path / "awkward.db"
    engine = create_engine(f"sqlite:///{db}")
    AWKWARD.metadata.create_all(engine)
    kolkata, la = ZoneInfo("Asia/Kolkata"), ZoneInfo("America/Los_Angeles")
    with engine.begin() as conn:
        for row in (
            {"id": 1, "created_at": dt.datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Europe/Berlin")), "change_seq": 1},
            {
                "id": 2, "name": "Zoë 🚀 東京 \u202eשלום\u202c \t tab \\ back 'quote' \"dq\"", "amount": Decimal("123456789.123"),
                "at": dt.datetime(2026, 3, 8, 2, 30, tzinfo=la), "created_at": dt.datetime(2026, 1, 1, 5, 29, 59, 999999, tzinfo=kolkata),
                "change_seq": 5,
            },
            {"id": 3, "name": "", "amount": Decimal("-0.0000000001"), "created_at": dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
             "deleted_at": dt.datetime(2099, 12, 31, 23, 59, 59, tzinfo=dt.UTC), "change_seq": 7},
        ):  # fmt: skip
            conn.execute(insert(AWKWARD), row)
    engine.dispose()
    raw = sqlite3.connect(db)
    # A 38-digit decimal sent as text (NUMERIC affinity keeps it as the nearest double), a REAL made by
    # arithmetic (8.399999999999999, which must land as 8.4), and a column declared TEXT that keeps it exact.
    raw.execute(
        "INSERT INTO awkward (id, name, amount, created_at, change_seq) VALUES "
        "(4, 'x', '1234567890123456789012345678.1234567891', '2026-03-01 10:00:00', 9), "
        "(5, NULL, 2.8 * 3, '2026-03-01 10:00:00.5', 11)"
    )
    raw.execute("ALTER TABLE awkward ADD COLUMN exact TEXT")
    raw.execute("UPDATE awkward SET exact = '1234567890123456789012345678.1234567891' WHERE id = 4")
    raw.execute("UPDATE awkward SET exact = '-0.0000000001' WHERE id = 3")
    raw.commit()
    raw.close()
    return db


def awkward_table() -> RawTable:
    table = raw_table(AWKWARD)
    return RawTable(table.name, (*table.columns, RawColumn("exact", "decimal", True, 38, 10)), table.key)


@pytest.mark.parametrize("which", ["edge", "awkward"])
def test_awkward_values_land_the_same_either_way(
    platform: Platform, edge_db: Path, awkward_db: Path, which: str
) -> None:
    db, table = (edge_db, edge_table()) if which == "edge" else (awkward_db, awkward_table())
    by_arrow, by_engine = copy_both_ways(platform, db, table, batch_rows=2)
    assert rows_of(platform, by_engine) == rows_of(platform, by_arrow)
    if which == "awkward":
        got = {r[0]: r for r in platform.client().query(f"SELECT * FROM {RAW_DATABASE}.`{by_engine}`").result_rows}
        assert got[2][1] == "Zoë 🚀 東京 \u202eשלום\u202c \t tab \\ back 'quote' \"dq\""
        # clickhouse-connect hands back naive UTC: 02:30 PST is 10:30 UTC, 05:29:59.999999 IST the previous day
        assert got[2][3] == dt.datetime(2026, 3, 8, 10, 30)
        assert got[2][4] == dt.datetime(2025, 12, 31, 23, 59, 59, 999999)
        assert got[1][4] == dt.datetime(2026, 3, 29, 0, 30)  # 01:30 CET, half an hour before the clocks change
        assert got[4][2] == Decimal("1234567890123460000000000000")  # a double: SQLite's 15 significant digits
        assert got[4][-4] == Decimal("1234567890123456789012345678.1234567891")  # text: exact, all 38 digits
        assert got[5][2] == Decimal("8.4") and got[3][-4] == Decimal("-0.0000000001")
        assert got[3][2] == Decimal("-0.0000000001") and got[1][2] is None and got[5][1] is None


def test_a_batch_is_one_change_seq_range(edge_db: Path) -> None:
    source = Source(f"sqlite:///{edge_db}")
    try:
        with source.snapshot():
            assert batch_bounds(source, edge_table(), 0, 3) == [3, 4]
            assert batch_bounds(source, edge_table(), 3, 10) == [4]
            assert batch_bounds(source, edge_table(), 4, 10) == []
    finally:
        source.close()
    plan = Plan(edge_table(), "/it's/a path.db", ())
    sql = insert_select_sql(plan, "raw.t", 3, 4)
    assert "sqlite('/it\\'s/a path.db', 'edge_cases')" in sql
    assert "WHERE `change_seq` > 3 AND `change_seq` <= 4" in sql
    assert "pin_hash" not in sql  # the secret column is neither read nor loaded


@pytest.fixture
def reader_client(platform: Platform) -> Iterator[Any]:
    password = (platform.warehouse.home / "secrets" / "warehouse_reader_password").read_text().strip()
    client = clickhouse_connect.get_client(
        host="127.0.0.1", port=platform.warehouse.port, username="pulse_reader", password=password
    )
    yield client
    client.close()


def test_the_warehouse_reads_the_store_only_where_it_can(platform: Platform, reader_client: Any, edge_db: Path) -> None:
    store = Source(str(platform.settings.ops_database_url))
    try:
        assert warehouse_reads_store(platform.client(), store)  # the admin, on this machine: yes
        assert not warehouse_reads_store(reader_client, store)  # any other user is refused sqlite() and file()
    finally:
        store.close()
    other = Source(f"sqlite:///{edge_db}")  # no change_seq counter: not an operational store
    try:
        assert not warehouse_reads_store(platform.client(), other)
    finally:
        other.close()
    memory = Source("sqlite://")
    try:
        assert memory.sqlite_path is None and not warehouse_reads_store(platform.client(), memory)
    finally:
        memory.close()


@pytest.mark.parametrize(("route", "small_backlog"), [("warehouse", 0), ("warehouse", 50), ("pages", 0)])
def test_loads_while_the_api_writes_converge(platform: Platform, route: str, small_backlog: int) -> None:
    """The warehouse (or the page reader) reads the SQLite file (WAL mode) while this process keeps committing
    to it: every load succeeds, and once the writes stop one more load leaves raw equal to the store and
    reconciled. With a threshold, backlogs under it are read in this process, two tables at once beside the
    server's copies."""
    # Two statements and two tables at once, batches of 500 rows: many ranges acknowledged in order.
    update = {"extract_warehouse_read": "always" if route == "warehouse" else "never", "extract_batch_rows": 500,
              "extract_warehouse_streams": 2, "extract_reader_process_rows": small_backlog,
              "extract_page_read": "auto" if route == "pages" else "never"}  # fmt: skip
    settings = platform.settings.model_copy(update=update)
    stop = threading.Event()
    written: list[int] = []

    def write() -> None:
        n = 0
        while not stop.is_set():
            with platform.store.write() as session:
                for hospital in session.scalars(select(Hospital).order_by(Hospital.id).limit(3)):
                    hospital.name = f"Hospital renamed {n}"
            n += 1
        written.append(n)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        loads = [extract(settings) for _ in range(3)]
    finally:
        stop.set()
        writer.join()
    assert written and written[0] > 3 and all(loads)
    extract(settings)
    assert_raw_equals_operational(platform)
    reconcile(settings, staging=False)


def test_merges_wait_for_a_copy_and_always_resume(platform: Platform) -> None:
    """A warehouse-read copy stops merges on its target while it writes, and starts them when done; a copy
    killed in between leaves them stopped, and the next run starts them again whichever way it reads."""
    client = platform.client()
    tables = [f"{RAW_DATABASE}.`{t.name}`" for t in operational_tables()]

    def merges_run(name: str) -> bool:
        try:
            client.command(f"OPTIMIZE TABLE {name} FINAL")
        except clickhouse_connect.driver.exceptions.DatabaseError as exc:
            if "ABORTED" not in str(exc):  # "Cancelled merging parts": merges are stopped; anything else fails
                raise
            return False
        return True

    update = {"extract_warehouse_read": "always", "extract_reader_process_rows": 0, "extract_batch_rows": 500,
              "extract_page_read": "never"}  # fmt: skip
    loads = extract(platform.settings.model_copy(update=update), full_refresh=True)
    assert sum(load.batches for load in loads) > len(loads)  # every table copied, some in several ranges
    assert all(merges_run(name) for name in tables)

    killed = tables[0]
    client.command(f"SYSTEM STOP MERGES {killed}")  # where a copy killed midway leaves it
    assert not merges_run(killed)
    assert extract(platform.settings.model_copy(update={"extract_warehouse_read": "never"}))
    assert merges_run(killed)
