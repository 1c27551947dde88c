"""clickhouse-connect 1.12 (the client Pulse's own code and Airflow use) against a real warehouse process.

What this proves, through ClickHouse's HTTP interface only:
- `query`, `query_df`, `query_arrow` and `command` work, and rows inserted with `insert` come back equal for
  Decimal, Nullable, LowCardinality, Array, Map, Tuple, UUID, DateTime64 with a time zone and Enum columns,
  through the Native format (`query`, `query_df`) and the Arrow format (`query_arrow`);
- `insert_df` and `insert_arrow` store what they were given;
- the three streaming APIs deliver a 1M-row result block by block, complete and in order;
- a temporary table lives in its client's session and is invisible to another client;
- server-side parameters (`{x:UInt32}`, strings with quotes and escapes, arrays, datetimes) are bound by the
  server, including the multipart form the client switches to for big parameters;
- every compression the client offers works for inserts (Native and Arrow) and queries, and the server
  compresses responses with the codec the client accepts, as ClickHouse 26.9 does by default;
- settings passed with one query (`settings={...}`) apply to that query only, with and without a session.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from tests.warehouse.embedded.recording_pool import RecordingPoolManager
from tests.warehouse.embedded.typed_data import MOSCOW, TYPED_COLUMNS, TYPED_ROWS, UTC

STREAM_ROWS = 1_000_000


def _create(client: Any, table: str, columns: dict[str, str]) -> None:
    cols = ", ".join(f"`{name}` {kind}" for name, kind in columns.items())
    client.command(f"CREATE TABLE {table} ({cols}) ENGINE = MergeTree ORDER BY tuple()")


def _plain(value: Any) -> Any:
    """A query_df cell as a plain Python value (pandas/numpy scalars, NA and Timestamps normalised)."""
    if isinstance(value, list | tuple):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


@pytest.fixture
def client(warehouse: Any) -> Iterator[Any]:
    c = warehouse.client(tz_mode="schema")  # a column's zone comes back, UTC included
    yield c
    c.close()


@pytest.fixture
def db(client: Any) -> Iterator[str]:
    name = f"cc_{uuid.uuid4().hex[:12]}"
    client.command(f"CREATE DATABASE {name}")
    yield name
    client.command(f"DROP DATABASE IF EXISTS {name} SYNC")


@pytest.fixture
def typed_table(client: Any, db: str) -> str:
    table = f"{db}.typed"
    _create(client, table, TYPED_COLUMNS)
    summary = client.insert(table, TYPED_ROWS, column_names=list(TYPED_COLUMNS))
    assert summary.written_rows == len(TYPED_ROWS)
    return table


def test_command_and_query_basics(client: Any, db: str) -> None:
    assert client.server_version.startswith("26.9")
    assert client.command("SELECT 40 + 2") == 42
    assert client.command("SELECT 'a', 2") == ["a", "2"]
    client.command(f"CREATE TABLE {db}.kv (k String, v UInt64) ENGINE = MergeTree ORDER BY k")
    summary = client.command(f"INSERT INTO {db}.kv SELECT toString(number), number FROM numbers(10)")
    assert summary.written_rows == 10
    result = client.query(f"SELECT k, v * 2 AS doubled FROM {db}.kv WHERE v < 3 ORDER BY v")
    assert result.column_names == ("k", "doubled")
    assert result.result_rows == [("0", 0), ("1", 2), ("2", 4)]
    assert client.command(f"EXISTS TABLE {db}.kv") == 1
    with pytest.raises(DatabaseError, match="UNKNOWN_TABLE"):
        client.query(f"SELECT * FROM {db}.missing")


def test_typed_rows_round_trip_native(client: Any, typed_table: str) -> None:
    result = client.query(f"SELECT * FROM {typed_table} ORDER BY id")
    assert [t.name for t in result.column_types] == list(TYPED_COLUMNS.values())
    assert [list(row) for row in result.result_rows] == TYPED_ROWS
    assert [row[12].tzinfo for row in result.result_rows] == [MOSCOW, MOSCOW]  # the column's zone, not UTC


def test_typed_rows_query_df(client: Any, typed_table: str) -> None:
    df = client.query_df(f"SELECT * FROM {typed_table} ORDER BY id")
    assert list(df.columns) == list(TYPED_COLUMNS)
    assert str(df["at"].dtype) == "datetime64[ms, Europe/Moscow]"
    rows = [[_plain(v) for v in record.values()] for record in df.to_dict("records")]
    assert rows == TYPED_ROWS


def test_typed_rows_query_arrow(client: Any, typed_table: str) -> None:
    table = client.query_arrow(f"SELECT * FROM {typed_table} ORDER BY id")
    assert table.schema.field("price").type == pa.decimal128(18, 4)
    assert table.schema.field("at").type == pa.timestamp("ms", tz="Europe/Moscow")
    got = table.to_pylist()
    for row, expected in zip(got, TYPED_ROWS, strict=True):
        e = dict(zip(TYPED_COLUMNS, expected, strict=True))
        # Arrow's own shapes: Map is a list of pairs, Tuple a struct, Enum its number.
        e["attrs"] = list(e["attrs"].items())
        e["pair"] = {"1": e["pair"][0], "2": e["pair"][1]}
        e["color"] = {"red": 1, "green": 2}[e["color"]]
        e["level"] = {"low": -1000, "high": 1000}[e["level"]]
        assert row == e


def test_insert_df(client: Any, db: str) -> None:
    table = f"{db}.from_df"
    _create(
        client,
        table,
        {"id": "UInt32", "name": "String", "score": "Float64", "n": "Nullable(Int64)", "ts": "DateTime64(3, 'UTC')"},
    )
    df = pd.DataFrame(
        {
            "id": pd.array([1, 2, 3], dtype="uint32"),
            "name": ["a", "ü", ""],
            "score": [1.5, -2.25, 1e300],
            "n": pd.array([1, None, -(2**62)], dtype="Int64"),
            "ts": pd.to_datetime(
                ["2024-01-01 00:00:00.123", "2024-06-01 12:00:00", "1970-01-01 00:00:00"], utc=True, format="ISO8601"
            ),
        }
    )
    assert client.insert_df(table, df).written_rows == 3
    back = client.query_df(f"SELECT * FROM {table} ORDER BY id")
    assert [[_plain(v) for v in r.values()] for r in back.to_dict("records")] == [
        [1, "a", 1.5, 1, dt.datetime(2024, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)],
        [2, "ü", -2.25, None, dt.datetime(2024, 6, 1, 12, 0, tzinfo=UTC)],
        [3, "", 1e300, -(2**62), dt.datetime(1970, 1, 1, tzinfo=UTC)],
    ]


def test_insert_arrow(client: Any, db: str) -> None:
    table = f"{db}.from_arrow"
    _create(client, table, {"id": "UInt32", "name": "String", "n": "Nullable(Int64)", "ts": "DateTime64(3, 'UTC')"})
    source = pa.table(
        {
            "id": pa.array(range(5000), pa.uint32()),
            "name": pa.array([f"name-{i}" for i in range(5000)], pa.string()),
            "n": pa.array([None if i % 7 == 0 else i * 3 for i in range(5000)], pa.int64()),
            "ts": pa.array([i * 1000 for i in range(5000)], pa.timestamp("ms", tz="UTC")),
        }
    )
    assert client.insert_arrow(table, source).written_rows == 5000
    back = client.query_arrow(f"SELECT id, name, n, ts FROM {table} ORDER BY id")
    assert back.num_rows == 5000
    assert back.column("id").to_pylist() == source.column("id").to_pylist()
    assert back.column("name").to_pylist() == source.column("name").to_pylist()
    assert back.column("n").to_pylist() == source.column("n").to_pylist()
    assert back.column("ts").to_pylist() == source.column("ts").to_pylist()


@pytest.mark.parametrize("compress", [False, "lz4"])
def test_insert_arrow_of_many_batches_with_dictionaries(warehouse: Any, db: str, compress: bool | str) -> None:
    """insert_arrow sends the Arrow file format, which the server feeds to the engine as the stream inside it
    (warehouse/embedded/insert_feed.py): every batch, dictionary-encoded and null values, and the IPC body
    compression the client applies with compress=lz4, arrive exactly."""
    client = warehouse.client(compress=compress)
    table = f"{db}.batches"
    _create(client, table, {"id": "UInt32", "sku": "LowCardinality(String)", "n": "Nullable(Float64)", "s": "String"})
    rows = 300_000
    source = pa.table(
        {
            "id": pa.array(range(rows), pa.uint32()),
            "sku": pa.array([f"KIT-{i % 13}" for i in range(rows)]).dictionary_encode(),
            "n": pa.array([None if i % 11 == 0 else i / 7 for i in range(rows)], pa.float64()),
            "s": pa.array(["ü€" * (i % 5) for i in range(rows)]),
        }
    )
    batches = pa.Table.from_batches(source.to_batches(max_chunksize=7_000))  # 43 batches, the last one short
    assert client.insert_arrow(table, batches).written_rows == rows
    back = client.query_arrow(f"SELECT id, toString(sku) AS sku, n, s FROM {table} ORDER BY id")
    assert back.column("id").to_pylist() == source.column("id").to_pylist()
    assert back.column("sku").to_pylist() == source.column("sku").to_pylist()
    assert back.column("n").to_pylist() == source.column("n").to_pylist()
    assert back.column("s").to_pylist() == source.column("s").to_pylist()
    client.close()


STREAM_SQL = "SELECT number AS n, toString(number) AS s FROM numbers({rows:UInt64})"


def _sum_row_blocks(client: Any) -> tuple[int, int, int]:
    total = rows = blocks = 0
    with client.query_row_block_stream(STREAM_SQL, parameters={"rows": STREAM_ROWS}) as stream:
        for block in stream:
            blocks += 1
            for n, s in block:
                assert s == str(n)
                total += n
                rows += 1
    return total, rows, blocks


def _sum_df_stream(client: Any) -> tuple[int, int, int]:
    total = rows = blocks = 0
    with client.query_df_stream(STREAM_SQL, parameters={"rows": STREAM_ROWS}) as stream:
        for df in stream:
            blocks += 1
            total += int(df["n"].sum())
            rows += len(df)
    return total, rows, blocks


def _sum_arrow_stream(client: Any) -> tuple[int, int, int]:
    total = rows = blocks = 0
    with client.query_arrow_stream(STREAM_SQL, parameters={"rows": STREAM_ROWS}) as stream:
        for batch in stream:
            blocks += 1
            total += sum(batch.column("n").to_pylist())
            rows += batch.num_rows
    return total, rows, blocks


@pytest.mark.parametrize("consume", [_sum_row_blocks, _sum_df_stream, _sum_arrow_stream], ids=["rows", "df", "arrow"])
def test_streaming_a_million_rows(client: Any, consume: Any) -> None:
    total, rows, blocks = consume(client)
    assert rows == STREAM_ROWS
    assert total == STREAM_ROWS * (STREAM_ROWS - 1) // 2
    assert blocks > 1  # delivered block by block, not as one piece
    assert client.command("SELECT 1") == 1  # and the client is usable afterwards


def test_temporary_table_lives_in_its_session(warehouse: Any, client: Any) -> None:
    name = f"tmp_{uuid.uuid4().hex[:10]}"
    client.command(f"CREATE TEMPORARY TABLE {name} (a UInt32, s String)")
    client.insert(name, [[1, "x"], [2, "y"]], column_names=["a", "s"])
    client.command(f"INSERT INTO {name} SELECT number + 10, 'z' FROM numbers(3)")
    assert client.query(f"SELECT count(), sum(a) FROM {name}").result_rows == [(5, 36)]
    assert client.query_df(f"SELECT a FROM {name} ORDER BY a")["a"].tolist() == [1, 2, 10, 11, 12]
    other = warehouse.client()
    try:
        with pytest.raises(DatabaseError, match="UNKNOWN_TABLE"):
            other.query(f"SELECT count() FROM {name}")
    finally:
        other.close()
    assert client.command(f"SELECT count() FROM {name}") == 5  # still there for its own session


@pytest.mark.parametrize(
    ("sql", "parameters", "expected"),
    [
        ("SELECT {x:UInt32} + 1", {"x": 41}, 42),
        ("SELECT {s:String}", {"s": "it's a \\ \t 'quoted' \"text\" ; DROP TABLE x"}, None),
        ("SELECT {s:String}", {"s": "Привет, мир"}, None),
        ("SELECT arraySum({a:Array(UInt32)})", {"a": [1, 2, 3, 4]}, 10),
        ("SELECT {a:Array(String)}", {"a": ["x", "y'z"]}, None),
        ("SELECT {d:DateTime}", {"d": dt.datetime(2024, 2, 29, 23, 59, 58)}, None),
        ("SELECT {d:DateTime64(3)}", {"d": dt.datetime(2024, 2, 29, 23, 59, 58, 123000)}, None),
        ("SELECT {d:Date}", {"d": dt.date(2000, 1, 1)}, None),
        ("SELECT {n:Nullable(Int64)} IS NULL", {"n": None}, True),
    ],
)
def test_server_side_parameters(client: Any, sql: str, parameters: dict[str, Any], expected: Any) -> None:
    value = client.query(sql, parameters=parameters).result_rows[0][0]
    if expected is None:
        (expected,) = parameters.values()
    assert value == expected


def test_server_side_parameters_in_a_table_query(client: Any, db: str) -> None:
    client.command(f"CREATE TABLE {db}.ev (id UInt32, kind String, at DateTime) ENGINE = MergeTree ORDER BY id")
    client.command(
        f"INSERT INTO {db}.ev SELECT number, ['a', 'b', 'c'][number % 3 + 1], "
        "toDateTime('2024-01-01 00:00:00') + number * 3600 FROM numbers(100)"
    )
    result = client.query(
        f"SELECT count() FROM {db}.ev WHERE kind IN {{kinds:Array(String)}} AND at >= {{since:DateTime}} "
        "AND id < {limit:UInt32}",
        parameters={"kinds": ["a", "c"], "since": dt.datetime(2024, 1, 2), "limit": 90},
    )
    # ids 24..89 (66 ids), of which kind 'b' (id % 3 == 1) is excluded: 44 rows
    assert result.result_rows == [(44,)]


def test_big_parameters_go_as_a_multipart_form(client: Any) -> None:
    """Over 4 KB of parameters the client sends query and params as multipart/form-data, as ClickHouse accepts."""
    values = list(range(3000))
    result = client.query("SELECT length({a:Array(UInt32)}), arraySum({a:Array(UInt32)})", parameters={"a": values})
    assert result.result_rows == [(3000, sum(values))]


@pytest.mark.parametrize("compress", [False, True, "lz4", "zstd", "gzip"])
def test_compression_for_inserts_and_queries(warehouse: Any, db: str, compress: bool | str) -> None:
    pool = RecordingPoolManager()
    client = warehouse.client(compress=compress, pool_mgr=pool, tz_mode="schema")
    try:
        table = f"{db}.compressed"
        _create(client, table, {**TYPED_COLUMNS, "pad": "String"})
        rows = [[*row, "p" * 200] for row in TYPED_ROWS]
        many = [[i * 10 + r[0], *r[1:]] for i in range(2000) for r in rows]  # a body worth compressing
        pool.exchanges.clear()
        assert client.insert(table, many, column_names=[*TYPED_COLUMNS, "pad"]).written_rows == len(many)
        sent = [x["sent_encoding"] for x in pool.exchanges]
        if compress is False:
            assert sent == [None] * len(sent)
        else:
            assert ("lz4" if compress is True else compress) in sent

        arrow_table = f"{db}.compressed_arrow"
        _create(client, arrow_table, {"id": "UInt32", "pad": "String"})
        source = pa.table(
            {"id": pa.array(range(20000), pa.uint32()), "pad": pa.array(["q" * 100] * 20000, pa.string())}
        )
        assert client.insert_arrow(arrow_table, source).written_rows == 20000

        pool.exchanges.clear()
        result = client.query(f"SELECT * EXCEPT pad FROM {table} WHERE id < 10 ORDER BY id")
        assert [list(r) for r in result.result_rows] == TYPED_ROWS
        assert client.query(f"SELECT count(), sum(id) FROM {table}").result_rows == [
            (len(many), sum(r[0] for r in many))
        ]
        assert client.query_arrow(f"SELECT sum(id), count() FROM {arrow_table}").to_pylist() == [
            {"sum(id)": sum(range(20000)), "count()": 20000}
        ]
        native = [x for x in pool.exchanges if x["accept"] is not None or compress is False]
        assert native, "no query was sent"
        for exchange in native:
            if compress is False:
                assert exchange["got_encoding"] is None
            else:
                # ClickHouse 26.9 has enable_http_compression = 1 by default: an Accept-Encoding is enough.
                accepted = [e.strip() for e in exchange["accept"].split(",")]
                assert exchange["got_encoding"] in accepted, exchange
    finally:
        client.close()


@pytest.mark.parametrize("session", [True, False], ids=["session", "no-session"])
def test_per_query_settings_apply_to_that_query_only(warehouse: Any, session: bool) -> None:
    client = warehouse.client(autogenerate_session_id=session)
    try:
        sql = "SELECT getSetting('max_block_size'), getSetting('join_use_nulls'), getSetting('max_threads')"
        baseline = client.query(sql).result_rows[0]
        assert baseline[1] is False
        for _ in range(3):  # alternate, so pooled/session connections are reused in both states
            assert client.query(sql, settings={"max_block_size": 1234, "join_use_nulls": 1}).result_rows[0][:2] == (
                1234,
                True,
            )
            assert client.query(sql).result_rows[0] == baseline
            assert client.query(sql, settings={"max_threads": 1}).result_rows[0] == (*baseline[:2], 1)
            assert client.query(sql).result_rows[0] == baseline
        if session:
            # A session's own SET persists; a per-query setting on top of it is still temporary.
            client.command("SET max_block_size = 777")
            assert client.query(sql, settings={"max_block_size": 55}).result_rows[0][0] == 55
            assert client.query(sql).result_rows[0][0] == 777
    finally:
        client.close()


def test_a_numeric_looking_value_for_a_string_setting(client: Any, db: str) -> None:
    """ClickHouse parses every URL setting as its own type: '10381' is a String to insert_deduplication_token."""
    client.command(f"CREATE TABLE {db}.t (a UInt8) ENGINE = MergeTree ORDER BY a")
    client.insert(f"{db}.t", [[1]], settings={"insert_deduplication_token": "10381"})
    token = client.query("SELECT getSetting('insert_deduplication_token')", settings={"insert_deduplication_token": 42})
    assert token.result_rows == [("42",)]


def test_server_side_parameters_in_insert_values_and_with_clause(client: Any, db: str) -> None:
    """The parameters reach the data part too: VALUES ({id:UInt32}) and a WITH clause in front of an INSERT."""
    client.command(f"CREATE TABLE {db}.p (id UInt32, name String) ENGINE = MergeTree ORDER BY id")
    client.command(
        f"INSERT INTO {db}.p (id, name) VALUES ({{id:UInt32}}, {{name:String}})", parameters={"id": 21, "name": "x;y"}
    )
    client.query(
        f"WITH {{SELECT:Int32}} AS value INSERT INTO {db}.p (name) FORMAT TabSeparated\nvalue_1;\n",
        parameters={"SELECT": 13},
    )
    client.query(f"WITH 1 AS y INSERT INTO {db}.p (name) FORMAT TabSeparated\nvalue_2;\n")
    rows = client.query(f"SELECT id, name FROM {db}.p ORDER BY id, name").result_rows
    assert rows == [(0, "value_1;"), (0, "value_2;"), (21, "x;y")]


def test_values_data_with_parameters_runs_no_statement_of_its_own(client: Any, db: str) -> None:
    """Statement and data go to the engine as one query, which runs every statement in it: Values data ends at a
    `;`, and what follows must not run as SQL (ClickHouse reads the body as data only)."""
    client.command(f"CREATE TABLE {db}.v (id UInt32, name String) ENGINE = MergeTree ORDER BY id")
    smuggled = f"; CREATE TABLE {db}.pwned (a UInt8) ENGINE = Memory"
    with pytest.raises(DatabaseError, match="Multi-statements"):
        client.command(f"INSERT INTO {db}.v VALUES ({{id:UInt32}}, 'x'){smuggled}", parameters={"id": 1})
    assert client.command(f"EXISTS TABLE {db}.pwned") == 0
    client.command(f"INSERT INTO {db}.v VALUES ({{id:UInt32}}, 'a;b'), (2, $$c;d$$);", parameters={"id": 1})
    assert client.query(f"SELECT id, name FROM {db}.v ORDER BY id").result_rows == [(1, "a;b"), (2, "c;d")]


@pytest.mark.parametrize("space", ["\u00a0", "\u3000", "\ufeff", "\u2028"])
def test_a_unicode_space_after_the_statement(client: Any, space: str) -> None:
    """ClickHouse's lexer skips these as whitespace; their UTF-8 bytes must survive the statement's trimming."""
    assert client.query(f"SELECT 13;{space}").result_rows == [(13,)]
    assert client.raw_query(f"SELECT 13;{space}", fmt="TabSeparated") == b"13\n"


def test_binary_bound_as_a_heredoc(client: Any) -> None:
    """The client binds bytes into the query as `$name$...$name$`: quotes, `;` and non-UTF-8 bytes included."""
    data = b"\xff\xfe'\";-- \x00/*" + bytes(range(128, 256))
    assert (
        client.raw_query("SELECT hex($b$)", parameters={"$b$": data}, fmt="TabSeparated")
        == data.hex().upper().encode() + b"\n"
    )


def test_a_request_without_a_database_runs_in_default(warehouse: Any, db: str) -> None:
    """The `database` parameter is the request's, not the session's (only USE changes the session's)."""
    client = warehouse.client(database=db)
    try:
        assert client.command("SELECT currentDatabase()") == db
        client.database = None
        assert client.command("SELECT currentDatabase()") == "default"
        client.command(f"USE {db}")
        assert client.command("SELECT currentDatabase()") == db
    finally:
        client.close()


def test_query_ids_and_sessions_are_in_the_system_logs(warehouse: Any) -> None:
    session_id = f"logs-{uuid.uuid4().hex}"
    client = warehouse.client(session_id=session_id)
    try:
        query_id = f"logged-{uuid.uuid4().hex}"
        client.query("SELECT 1 AS num", settings={"query_id": query_id})
        failed_id = f"failed-{uuid.uuid4().hex}"
        with pytest.raises(DatabaseError):
            client.query("SELECT throwIf(1)", settings={"query_id": failed_id})
        client.command("SYSTEM FLUSH LOGS")
        logged = client.query(
            "SELECT type, query, user, exception_code FROM system.query_log "
            "WHERE query_id IN ({ids:Array(String)}) AND event_time > now() - 60 ORDER BY event_time_microseconds",
            parameters={"ids": [query_id, failed_id]},
        ).result_rows
        assert [(kind, user, code) for kind, _, user, code in logged] == [
            ("QueryStart", "default", 0),
            ("QueryFinish", "default", 0),
            ("QueryStart", "default", 0),
            ("ExceptionWhileProcessing", "default", 395),
        ]
        assert "SELECT 1 AS num" in logged[0][1]
        sessions = client.query(
            "SELECT type, user FROM system.session_log WHERE session_id = {s:String}", parameters={"s": session_id}
        ).result_rows
        assert sessions == [("LoginSuccess", "default")]
    finally:
        client.close()
