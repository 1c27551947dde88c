"""The SQLite reader process (connectorx in a child process, Arrow IPC through a pipe) against the in-process
reader: the same batches, value for value and type for type; and what happens when the child fails."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Enum,
    Float,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    create_engine,
    insert,
)

from extractors.load import Watermarks, operational_tables
from extractors.raw_schema import RawColumn, RawTable, raw_table
from extractors.reader_process import ReaderProcessError, SQLiteReaderProcess
from extractors.source import Source
from operational_api.models.base import UTCDateTime
from tests.extractors.test_extract import assert_raw_equals_operational, extract_in_subprocess
from tests.platform import Platform

LOAD_TIME = "_loaded_at"  # differs between two reads by construction


def in_process(db: Path, table: RawTable, after: int = 0) -> pa.Table:
    source = Source(f"sqlite:///{db}")
    try:
        with source.snapshot():
            return pa.Table.from_batches(list(source.stream(table, after, 1_000)), schema=table.arrow_schema)
    finally:
        source.close()


def by_reader(reader: SQLiteReaderProcess, table: RawTable, **request: object) -> pa.Table:
    return pa.Table.from_batches(list(reader.stream(table, **request)), schema=table.arrow_schema)  # type: ignore[arg-type]


def same_batches(a: pa.Table, b: pa.Table) -> bool:
    return a.drop_columns([LOAD_TIME]).combine_chunks().equals(b.drop_columns([LOAD_TIME]).combine_chunks())


@pytest.fixture
def ops_copy(simulated_home: Path, tmp_path: Path) -> Path:
    db = tmp_path / "ops.db"
    shutil.copyfile(simulated_home / "ops.db", db)
    return db


def test_every_operational_table_reads_the_same_through_the_reader_process(ops_copy: Path) -> None:
    reader = SQLiteReaderProcess(ops_copy)
    try:
        compared = 0
        for table in operational_tables():
            expected = in_process(ops_copy, table)
            got = by_reader(reader, table, block_rows=997)  # several record batches for the bigger tables
            assert got.schema.equals(table.arrow_schema), table.name
            assert same_batches(got, expected), table.name
            compared += got.num_rows
            middle = expected.column("change_seq")[expected.num_rows // 2].as_py() if expected.num_rows else 0
            assert same_batches(by_reader(reader, table, after=middle), in_process(ops_copy, table, middle)), table.name
        assert compared > 10_000
    finally:
        reader.close()


EDGE = Table(
    "edge_cases",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("small", SmallInteger),
    Column("big", BigInteger),
    Column("ratio", Float),
    Column("flag", Boolean),
    Column("day", Date),
    Column("at", UTCDateTime()),
    Column("label", String(60)),
    Column("status", Enum("new", "done", name="edge_status")),
    Column("doc", JSON),
    Column("money", Numeric(14, 2)),
    Column("rate", Numeric(18, 8)),
    Column("price", Numeric(14, 2), nullable=False),
    Column("pin_hash", String(100)),  # a secret: never extracted
    Column("created_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime()),
    Column("change_seq", BigInteger, nullable=False, index=True),
)
T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def edge_db(tmp_path: Path) -> Path:
    """Every column kind, NULL in the first row, decimals stored as INTEGER and REAL, timestamps with 6, 3 and
    no fractional digits, empty strings next to NULLs, quotes, newlines and non-ASCII text."""
    db = tmp_path / "edge.db"
    engine = create_engine(f"sqlite:///{db}")
    EDGE.metadata.create_all(engine)
    with engine.begin() as conn:
        for row in (
                {"id": 1, "price": Decimal("280"), "created_at": T0, "change_seq": 1},
                {
                    "id": 2, "small": -7, "big": 2**40, "ratio": 0.1, "flag": True, "day": dt.date(2026, 2, 28),
                    "at": T0 + dt.timedelta(microseconds=123456), "label": 'Café "quoted", comma\nnew line',
                    "status": "done", "doc": {"a": [1, 2], "é": None}, "money": Decimal("12.34"),
                    "rate": Decimal("91.12345678"), "price": Decimal("0.10"), "pin_hash": "secret",
                    "created_at": T0, "deleted_at": T0 + dt.timedelta(days=1), "change_seq": 2,
                },
                {
                    "id": 3, "flag": False, "label": "", "status": "new", "money": Decimal("-0.01"),
                    "rate": Decimal("0.00000001"), "price": Decimal("99999999.99"), "created_at": T0, "change_seq": 3,
                },
        ):  # fmt: skip
            conn.execute(insert(EDGE), row)  # one by one: an executemany would take the first row's keys
    engine.dispose()
    raw = sqlite3.connect(db)  # timestamps as other writers store them: 3 fractional digits, or none
    raw.execute(
        "INSERT INTO edge_cases (id, at, price, created_at, change_seq) "
        "VALUES (4, '2026-03-01 10:00:00.123', 5, '2026-03-01 10:00:00', 4)"
    )
    # Columns added by hand, of declared types connectorx does not know (none at all, "NUMBER").
    raw.execute("ALTER TABLE edge_cases ADD COLUMN note")
    raw.execute("ALTER TABLE edge_cases ADD COLUMN units NUMBER")
    raw.execute("UPDATE edge_cases SET note = 'n' || id, units = id * 1000 WHERE id > 2")
    raw.commit()
    raw.close()
    return db


def edge_table() -> RawTable:
    table = raw_table(EDGE)
    added = (RawColumn("note", "string", True), RawColumn("units", "int64", True))
    return RawTable(table.name, (*table.columns, *added), table.key)


def test_edge_values_arrive_exactly_and_alike(edge_db: Path) -> None:
    table = edge_table()
    assert "pin_hash" not in [c.name for c in table.columns]
    reader = SQLiteReaderProcess(edge_db)
    try:
        got = by_reader(reader, table, block_rows=2)
        window = by_reader(reader, table, window=("change_seq", "2", "4"), block_rows=2)
    finally:
        reader.close()
    expected = in_process(edge_db, table)
    assert got.schema.equals(table.arrow_schema)
    assert same_batches(got, expected)
    rows = {r["id"]: r for r in got.to_pylist()}
    assert all(rows[1][c.name] is None for c in table.columns if c.nullable)
    assert rows[1]["price"] == Decimal("280.00") and rows[3]["price"] == Decimal("99999999.99")
    assert (rows[2]["money"], rows[3]["money"]) == (Decimal("12.34"), Decimal("-0.01"))
    assert (rows[2]["rate"], rows[3]["rate"]) == (Decimal("91.12345678"), Decimal("0.00000001"))
    assert rows[2]["at"] == T0 + dt.timedelta(microseconds=123456)
    assert rows[4]["at"] == T0 + dt.timedelta(microseconds=123000) and rows[4]["created_at"] == T0
    assert rows[2]["label"] == 'Café "quoted", comma\nnew line' and rows[3]["label"] == ""
    assert (rows[2]["flag"], rows[3]["flag"], rows[2]["status"]) == (True, False, "done")
    assert rows[2]["day"] == dt.date(2026, 2, 28) and rows[2]["big"] == 2**40 and rows[2]["small"] == -7
    assert [r["_is_deleted"] for r in got.to_pylist()] == [0, 1, 0, 0]
    assert [(r["note"], r["units"]) for r in got.to_pylist()] == [
        (None, None),
        (None, None),
        ("n3", 3000),
        ("n4", 4000),
    ]
    assert window.column("id").to_pylist() == [2, 3]


def test_a_failing_request_reports_the_childs_error(edge_db: Path) -> None:
    table = edge_table()
    bogus = RawTable(table.name, (*table.columns, RawColumn("no_such_column", "int64", True)), table.key)
    reader = SQLiteReaderProcess(edge_db)
    try:
        with pytest.raises(ReaderProcessError, match=r"exit status 1\).*no column no_such_column"):
            by_reader(reader, bogus)
        assert by_reader(reader, table).num_rows == 4  # a new child serves the next request
    finally:
        reader.close()


def test_the_reader_never_loads_the_stdlib_sqlite3() -> None:
    imported = subprocess.run(
        [sys.executable, "-c", "import sys, extractors.sqlite_reader; print('_sqlite3' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert imported.stdout.strip() == "False"
    guarded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sqlite3, runpy; runpy.run_module('extractors.sqlite_reader', run_name='__main__')",
        ],
        input="",
        capture_output=True,
        text=True,
    )
    assert guarded.returncode == 2 and "must not load the stdlib sqlite3" in guarded.stderr


def test_a_reader_killed_mid_stream_fails_the_run_and_acknowledges_only_what_was_inserted(platform: Platform) -> None:
    small = {"PULSE_EXTRACT_BATCH_ROWS": "100", "PULSE_EXTRACT_INSERT_ROWS": "100"}
    # The child kills itself after its 5th record batch, at a batch boundary: only the missing trailer tells.
    crashed = extract_in_subprocess(platform, PULSE_FAULT="reader-mid-stream:5", **small)
    assert crashed.returncode == 1, crashed.stderr[-2000:]
    said = " ".join((crashed.stdout + crashed.stderr).split())
    assert (
        "SQLite reader process failed" in said and "exit status -9" in said and "without the reader's trailer" in said
    )
    assert "run `pulse extract` again" in said
    client = platform.client()
    acknowledged = Watermarks(client, "check").all()
    assert acknowledged  # the batches before the failure were acknowledged ...
    with platform.store.read() as session:
        for table, mark in acknowledged.items():
            loaded = client.query(f"SELECT count() FROM raw.`{table}` FINAL WHERE _change_seq <= {mark}")
            operational = session.connection().exec_driver_sql(
                f'SELECT count(*) FROM "{table}" WHERE change_seq <= {mark}'
            )
            assert loaded.result_rows[0][0] == operational.scalar(), table  # ... and all of them are in raw
    finished = extract_in_subprocess(platform, **small)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert_raw_equals_operational(platform)
