"""The SQLite page reader (`pulse-sqlite-pages`, extractors/page_copy.py) against the Arrow path: the same raw
rows on every operational table, on awkward values, on a B-tree of several levels with records spilling onto
overflow pages and rows still in the WAL; a value it does not convert exactly sends the table another way."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from extractors.engine_copy import WarehouseRead
from extractors.load import Watermarks, insert_stream, load_incremental, operational_tables
from extractors.page_copy import PagePlan, PageReadError, PagesUnsupported, copy_pages, reader_binary
from extractors.raw_schema import CHANGE_SEQ, RAW_DATABASE, RawColumn, RawTable
from extractors.reader_process import SQLiteReaderProcess
from extractors.source import Source
from tests.extractors.test_engine_copy import ops_copy, rows_of
from tests.extractors.test_reader_process import edge_db, edge_table
from tests.platform import Platform

__all__ = ["edge_db", "ops_copy"]  # fixtures


@pytest.fixture(scope="module")
def binary() -> str:
    found = reader_binary()
    assert found, "make builds pulse-sqlite-pages next to the venv's python"
    return found


def fresh(platform: Platform, table: RawTable, name: str) -> str:
    client = platform.client()
    client.command(f"CREATE DATABASE IF NOT EXISTS {RAW_DATABASE}")
    client.command(f"DROP TABLE IF EXISTS {RAW_DATABASE}.`{name}`")
    client.command(table.create_sql(name))
    return f"{RAW_DATABASE}.`{name}`"


def by_arrow(platform: Platform, db: Path, table: RawTable) -> str:
    target = fresh(platform, table, f"{table.name}__arrow")
    reader = SQLiteReaderProcess(db)
    try:
        insert_stream(platform.client(), target, table.arrow_schema, reader.stream(table, block_rows=997))
    finally:
        reader.close()
    return f"{table.name}__arrow"


def by_pages(platform: Platform, db: Path, table: RawTable, binary: str) -> str:
    target = fresh(platform, table, f"{table.name}__pages")
    source = Source(f"sqlite:///{db}")
    try:
        with source.snapshot():
            plan = PagePlan.of(source, table)
            until = int(source.scalar(f'SELECT max("{CHANGE_SEQ}") FROM "{table.name}"') or 0)
            copied = copy_pages(platform.client(), source, plan, binary, target, 0, until)
    finally:
        source.close()
    assert copied.rows == platform.client().query(f"SELECT count() FROM {target}").result_rows[0][0]
    return f"{table.name}__pages"


def test_every_operational_table_lands_the_same_from_its_pages(platform: Platform, ops_copy: Path, binary: str) -> None:
    compared = 0
    for table in operational_tables():
        arrow = rows_of(platform, by_arrow(platform, ops_copy, table))
        assert rows_of(platform, by_pages(platform, ops_copy, table, binary)) == arrow, table.name
        compared += len(arrow)
    assert compared > 10_000


def test_edge_values_land_the_same_from_the_pages(platform: Platform, edge_db: Path, binary: str) -> None:
    table = edge_table()
    pages = rows_of(platform, by_pages(platform, edge_db, table, binary))
    assert pages == rows_of(platform, by_arrow(platform, edge_db, table)) and len(pages) == 4


DEEP = RawTable(
    "deep",
    (
        RawColumn("id", "int64", False),
        RawColumn("body", "string", True),
        RawColumn("amount", "decimal", True, 14, 2),
        RawColumn("at", "timestamp", False),
        RawColumn("deleted_at", "timestamp", True),
        RawColumn("change_seq", "int64", False),
        RawColumn("note", "string", True),
    ),
    ("id",),
)


@contextlib.contextmanager
def deep_db(path: Path) -> Iterator[sqlite3.Connection]:
    """30,000 rows in WAL mode (a B-tree of three levels), every 997th with a body of about 24 KiB of
    multi-byte text (a chain of overflow pages); amounts as INTEGER, as REAL made by arithmetic (2.8 * 3 is
    8.399999999999999, which lands as 8.40) and NULL; a column added after 20,000 rows (older records do not
    have it). The last 10,000 rows and some updates stay in the WAL: the connection is yielded open, with
    automatic checkpoints off."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute(
        "CREATE TABLE deep (id INTEGER PRIMARY KEY, body TEXT, amount NUMERIC(14, 2), at DATETIME NOT NULL, "
        "deleted_at DATETIME, change_seq BIGINT NOT NULL)"
    )
    conn.execute("CREATE INDEX ix_deep_change_seq ON deep (change_seq)")  # as every store table has

    def add(first: int, last: int) -> None:
        conn.executemany(
            "INSERT INTO deep (id, body, amount, at, deleted_at, change_seq) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    i,
                    ("Жанна 🚀 " * 2000 + str(i)) if i % 997 == 0 else f"row {i}",
                    None if i % 7 == 0 else (2.8 * 3 if i % 3 == 0 else i * 25),
                    f"2026-0{1 + i % 9}-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:{i % 59:02d}" + (".5" if i % 2 else ".123456"),
                    "2026-12-01 00:00:00.000000" if i % 11 == 0 else None,
                    i,
                )
                for i in range(first, last + 1)
            ],
        )  # fmt: skip

    conn.execute("BEGIN")
    add(1, 20_000)
    conn.execute("COMMIT")
    conn.execute("ALTER TABLE deep ADD COLUMN note TEXT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the first 20,000 rows into the file
    conn.execute("BEGIN")
    add(20_001, 30_000)
    conn.execute("UPDATE deep SET note = 'updated', change_seq = change_seq + 100000 WHERE id % 1000 = 1")
    conn.execute("COMMIT")
    try:
        yield conn
    finally:
        conn.close()


def test_a_deep_table_with_overflow_pages_and_rows_in_the_wal(platform: Platform, tmp_path: Path, binary: str) -> None:
    db = tmp_path / "deep.db"
    with deep_db(db):
        assert Path(f"{db}-wal").stat().st_size > 1_000_000  # what the page reader must read from the WAL
        pages = rows_of(platform, by_pages(platform, db, DEEP, binary))
        assert pages == rows_of(platform, by_arrow(platform, db, DEEP))
    assert len(pages) == 30_000
    client = platform.client()
    got = dict(client.query(f"SELECT id, amount FROM {RAW_DATABASE}.deep__pages WHERE id IN (3, 7, 8)").result_rows)
    assert str(got[3]) == "8.40" and got[7] is None and str(got[8]) == "200.00"
    loaded = client.query(f"SELECT min(_loaded_at), max(_loaded_at) FROM {RAW_DATABASE}.deep__pages").result_rows[0]
    assert loaded[0] == loaded[1] and abs(loaded[0] - dt.datetime.now(dt.UTC).replace(tzinfo=None)) < dt.timedelta(
        minutes=5
    )
    assert client.query(
        f"SELECT countIf(note = 'updated'), max(length(body)) FROM {RAW_DATABASE}.deep__pages"
    ).result_rows == [(30, 2000 * len("Жанна 🚀 ".encode()) + 5)]


def test_a_value_the_reader_does_not_convert_sends_the_table_another_way(
    platform: Platform, tmp_path: Path, binary: str
) -> None:
    """'2026-03-01T10:00:00' is a timestamp to the Arrow cast; the page reader converts only the store's own
    form exactly, so it refuses the table, and the load sends it as Arrow (nothing lost, one copy kept)."""
    db = tmp_path / "deep.db"
    with deep_db(db) as conn:
        conn.execute("UPDATE deep SET at = '2026-03-01T10:00:00' WHERE id = 29999")
    source = Source(f"sqlite:///{db}")
    with source.snapshot(), pytest.raises(PagesUnsupported, match="column at"):
        copy_pages(
            platform.client(), source, PagePlan.of(source, DEEP), binary, fresh(platform, DEEP, "deep__x"), 0, 10**9
        )
    source.close()

    client = platform.client()
    client.command(f"DROP TABLE IF EXISTS {DEEP.qualified}")
    watermarks = Watermarks(client, "test-page-copy")
    watermarks.ensure()
    source = Source(f"sqlite:///{db}")
    try:
        with source.snapshot():
            bulk = WarehouseRead(None, (platform.client(),), 0, binary)
            result = load_incremental(
                source, client, DEEP, watermarks, batch_rows=10_000, insert_rows=10_000, warehouse_read=bulk
            )
    finally:
        source.close()
    assert result.route.startswith("arrow, pages refused") and "column at" in result.route
    assert result.rows == 30_000
    final = client.query(f"SELECT count(), max(at) FROM {DEEP.qualified} FINAL").result_rows[0]
    assert final[0] == 30_000


@pytest.mark.parametrize(
    ("damage", "error"), [("index page", "not a table B-tree page"), ("page twice", "is in the B-tree twice")]
)
def test_a_corrupt_file_fails_the_copy_and_acknowledges_nothing(
    platform: Platform, tmp_path: Path, binary: str, damage: str, error: str
) -> None:
    """A page that is not what the B-tree says, or a child reached twice (a loop would never end): the reader
    stops with the page's number, nothing is acknowledged (the run fails; the next run reads again)."""
    db = tmp_path / "deep.db"
    with deep_db(db):
        pass  # closing checkpoints the WAL into the file
    source = Source(f"sqlite:///{db}")
    with source.snapshot():
        plan = PagePlan.of(source, DEEP)
    source.close()
    data = bytearray(db.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    root = (plan.root - 1) * page_size
    first_cell = root + int.from_bytes(data[root + 12 : root + 14], "big")
    child = int.from_bytes(data[first_cell : first_cell + 4], "big")  # the root's first child page
    if damage == "index page":
        data[(child - 1) * page_size] = 0x0A  # now says: an index leaf
    else:
        second_cell = root + int.from_bytes(data[root + 14 : root + 16], "big")
        data[second_cell : second_cell + 4] = child.to_bytes(4, "big")  # the second child is the first again
    db.write_bytes(bytes(data))
    source = Source(f"sqlite:///{db}")
    try:
        with source.snapshot(), pytest.raises(PageReadError, match=error):
            copy_pages(platform.client(), source, plan, binary, fresh(platform, DEEP, "deep__x"), 0, 10**9)
    finally:
        source.close()


ODD = RawTable(
    "odd",
    (
        RawColumn("id", "int64", False),
        RawColumn("exact", "decimal", True, 12, 2),
        RawColumn("rate", "decimal", True, 18, 8),
        RawColumn("at", "timestamp", True),
        RawColumn("deleted_at", "timestamp", True),
        RawColumn("change_seq", "int64", False),
    ),
    ("id",),
)


def odd_db(path: Path, key: str = "INTEGER PRIMARY KEY") -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(
        f"CREATE TABLE odd (id {key}, exact TEXT, rate NUMERIC(18, 8), at DATETIME, deleted_at DATETIME, "
        "change_seq BIGINT NOT NULL)"
    )
    conn.execute(
        "INSERT INTO odd (id, exact, rate, at, change_seq) VALUES (100, '12.30', 0.5, '2026-03-01 10:00:00', 1), "
        "(200, '-0.01', 91.12345678, '2026-03-01 10:00:00.000001', 2)"
    )
    return conn


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("at", "2026-03-01T10:00:00"),  # a timestamp to the Arrow cast, not in the store's own form
        ("exact", "184467440737095516.16"),  # past 18 digits: would wrap around to 0.00 in 64 bits
        ("exact", "12.345"),  # more decimals than the scale: the CAST, not the reader, decides
        ("rate", 330530419.0703125),  # a double exactly halfway between two 15-digit decimals
        ("rate", "lots"),  # text in a numeric column
    ],
)
def test_values_the_reader_does_not_convert_exactly_are_refused(
    platform: Platform, tmp_path: Path, binary: str, column: str, value: object
) -> None:
    db = tmp_path / "odd.db"
    with contextlib.closing(odd_db(db)) as conn:
        conn.execute(f"UPDATE odd SET {column} = ? WHERE id = 200", (value,))
    source = Source(f"sqlite:///{db}")
    try:
        with source.snapshot(), pytest.raises(PagesUnsupported, match=f"column {column}"):
            copy_pages(
                platform.client(), source, PagePlan.of(source, ODD), binary, fresh(platform, ODD, "odd__x"), 0, 9
            )
    finally:
        source.close()


def test_an_integer_primary_key_desc_is_not_the_rowid(platform: Platform, tmp_path: Path, binary: str) -> None:
    """SQLite's quirk: `id INTEGER PRIMARY KEY DESC` is an ordinary column, kept in the record."""
    db = tmp_path / "odd.db"
    odd_db(db, key="INTEGER PRIMARY KEY DESC").close()
    pages = rows_of(platform, by_pages(platform, db, ODD, binary))
    assert pages == rows_of(platform, by_arrow(platform, db, ODD))
    assert [row[0].split(",")[0] for row in pages] == ["(100", "(200"]


def test_a_schema_changed_since_the_snapshot_is_refused(platform: Platform, tmp_path: Path, binary: str) -> None:
    """A column dropped after the loader's snapshot rewrites the records in place (same root page, same
    change_seq, so the totals would agree): the reader sees another schema version and refuses."""
    db = tmp_path / "odd.db"
    odd_db(db).close()
    source = Source(f"sqlite:///{db}")
    try:
        with source.snapshot():
            plan = PagePlan.of(source, ODD)
            with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as other:
                other.execute("ALTER TABLE odd DROP COLUMN exact")
            with pytest.raises(PagesUnsupported, match="schema changed"):
                copy_pages(platform.client(), source, plan, binary, fresh(platform, ODD, "odd__x"), 0, 9)
    finally:
        source.close()


def wal_checksum(data: bytes, s0: int, s1: int) -> tuple[int, int]:
    words = struct.unpack(f"<{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1


def test_a_wal_frame_of_an_impossible_page_is_refused(platform: Platform, tmp_path: Path, binary: str) -> None:
    """A WAL, checksums right, committing page 4294967295 of a database that size: refused, not allocated or
    written past an array."""
    db = tmp_path / "odd.db"
    odd_db(db).close()  # closing checkpoints: the WAL is gone
    source = Source(f"sqlite:///{db}")
    with source.snapshot():
        plan = PagePlan.of(source, ODD)
    source.close()
    page_size = int.from_bytes(db.read_bytes()[16:18], "big")
    header = struct.pack(">IIIIII", 0x377F0682, 3007000, page_size, 0, 7, 9)
    s0, s1 = wal_checksum(header, 0, 0)
    frame_header = struct.pack(">IIII", 0xFFFFFFFF, 0xFFFFFFFF, 7, 9)
    page = bytes(page_size)
    s0, s1 = wal_checksum(frame_header[:8] + page, s0, s1)
    wal = header + struct.pack(">II", *wal_checksum(header, 0, 0)) + frame_header + struct.pack(">II", s0, s1) + page
    data = bytearray(db.read_bytes())
    data[18:20] = b"\x02\x02"  # WAL mode
    db.write_bytes(bytes(data))
    Path(f"{db}-wal").write_bytes(wal)
    result = subprocess.run(plan.argv(binary, 0, 9), capture_output=True, check=False)
    assert result.returncode == 1 and b"more than can be" in result.stderr, result.stderr
