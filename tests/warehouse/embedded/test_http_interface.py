"""ClickHouse's HTTP interface as its documentation describes it, spoken raw to the real server process."""

from __future__ import annotations

import csv
import gzip
import io
import json
import threading
import time
import uuid
import zlib

import httpx
import lz4.frame
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from backports import zstd

from tests.conftest import WarehouseProcess
from tests.polling import wait_until
from warehouse.errors import CODES


def q(server: WarehouseProcess, sql: str, *, data: bytes | None = None, **params: str) -> httpx.Response:
    """POST a query the way curl does in ClickHouse's docs: SQL in the body, or in `query=` with data."""
    auth = None if "user" in params else server.auth
    if data is None:
        return httpx.post(f"{server.url}/", params=params, content=sql.encode(), timeout=60, auth=auth)
    return httpx.post(f"{server.url}/", params={"query": sql, **params}, content=data, timeout=60, auth=auth)


def ok(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return response.text


def table(server: WarehouseProcess, columns: str = "id UInt32, name String") -> str:
    name = f"t_{uuid.uuid4().hex[:10]}"
    ok(q(server, f"CREATE TABLE {name} ({columns}) ENGINE = MergeTree ORDER BY tuple()"))
    return name


def test_ping_and_unknown_path(warehouse: WarehouseProcess) -> None:
    assert httpx.get(f"{warehouse.url}/ping").text == "Ok.\n"
    missing = httpx.get(f"{warehouse.url}/nope")
    assert missing.status_code == 404


def test_query_in_url_and_in_body_with_clickhouse_headers(warehouse: WarehouseProcess) -> None:
    get = httpx.get(f"{warehouse.url}/", auth=warehouse.auth, params={"query": "SELECT 1"})
    assert ok(get) == "1\n"
    assert get.headers["X-ClickHouse-Format"] == "TabSeparated"
    assert get.headers["X-ClickHouse-Timezone"]
    assert uuid.UUID(get.headers["X-ClickHouse-Query-Id"])
    post = httpx.post(
        f"{warehouse.url}/",
        auth=warehouse.auth,
        content=b"SELECT 'a' AS x, 2 AS y FORMAT JSONEachRow",
        params={"query_id": "q-1"},
    )
    assert ok(post) == '{"x":"a","y":2}\n'
    assert post.headers["X-ClickHouse-Query-Id"] == "q-1"
    assert post.headers["X-ClickHouse-Format"] == "JSONEachRow"
    summary = json.loads(post.headers["X-ClickHouse-Summary"])
    assert set(summary) >= {"read_rows", "written_rows", "elapsed_ns"}


def test_default_format_and_database(warehouse: WarehouseProcess) -> None:
    assert ok(q(warehouse, "SELECT 1 AS one", default_format="JSONCompactEachRow")) == "[1]\n"
    db = f"db_{uuid.uuid4().hex[:8]}"
    ok(q(warehouse, f"CREATE DATABASE {db}"))
    assert ok(q(warehouse, "SELECT currentDatabase()", database=db)) == f"{db}\n"
    assert ok(q(warehouse, "SELECT currentDatabase()")) == "default\n"  # a pooled connection does not keep it


def test_insert_with_query_in_url_and_data_in_body(warehouse: WarehouseProcess) -> None:
    """`echo '(4),(5),(6)' | curl 'http://localhost:8123/?query=INSERT%20INTO%20t%20VALUES' --data-binary @-`"""
    name = table(warehouse, "x UInt8")
    ok(q(warehouse, f"INSERT INTO {name} VALUES", data=b"(4),(5),(6)"))
    ok(q(warehouse, f"INSERT INTO {name} FORMAT TabSeparated", data=b"7\n8\n"))
    ok(q(warehouse, f"INSERT INTO {name} FORMAT CSV\n9\n10\n"))
    ok(q(warehouse, f'INSERT INTO {name} FORMAT JSONEachRow {{"x": 11}} {{"x": 12}}'))
    response = q(warehouse, f"INSERT INTO {name} (x) FORMAT CSV", data=b"13\n")
    assert json.loads(response.headers["X-ClickHouse-Summary"])["written_rows"] == "1"
    assert (
        ok(q(warehouse, f"SELECT groupArray(x) FROM (SELECT x FROM {name} ORDER BY x)"))
        == "[4,5,6,7,8,9,10,11,12,13]\n"
    )


ROUND_TRIP_FORMATS = [
    "Native", "RowBinary", "RowBinaryWithNamesAndTypes", "Arrow", "ArrowStream", "Parquet", "CSV", "CSVWithNames",
    "TabSeparated", "TSVWithNamesAndTypes", "JSONEachRow", "JSONCompactEachRowWithNames", "Values",
]  # fmt: skip


@pytest.mark.parametrize("fmt", ROUND_TRIP_FORMATS)
def test_every_input_format_round_trips(warehouse: WarehouseProcess, fmt: str) -> None:
    """Rows selected in a format and inserted back in the same format arrive intact (multi-chunk sizes)."""
    columns = "id UInt64, name String, price Decimal(12, 2), at DateTime64(3, 'UTC'), tags Array(String)"
    source = table(warehouse, columns)
    ok(
        q(
            warehouse,
            f"INSERT INTO {source} SELECT number, concat('n', toString(number)), number / 100, "
            "toDateTime64(number, 3, 'UTC'), [toString(number % 7)] FROM numbers(150000)",
        )
    )
    exported = q(warehouse, f"SELECT * FROM {source} ORDER BY id FORMAT {fmt}")
    assert exported.status_code == 200, exported.text
    target = table(warehouse, columns)
    ok(q(warehouse, f"INSERT INTO {target} FORMAT {fmt}", data=exported.content))
    check = "SELECT count(), sum(id), sum(price), sum(length(name)), sum(toUnixTimestamp(at)) FROM {}"
    assert ok(q(warehouse, check.format(target))) == ok(q(warehouse, check.format(source)))


def test_streamed_outputs_are_single_well_formed_documents(warehouse: WarehouseProcess) -> None:
    """Big results come in many engine chunks; each format must still be ONE document, header once."""
    sql = "SELECT number AS n, toString(number) AS s FROM numbers(250000)"
    rows = 250000
    text = ok(q(warehouse, f"{sql} FORMAT CSVWithNames"))
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == ["n", "s"] and len(parsed) == rows + 1
    tsv = ok(q(warehouse, f"{sql} FORMAT TSVWithNamesAndTypes")).splitlines()
    assert tsv[:2] == ["n\ts", "UInt64\tString"] and len(tsv) == rows + 2
    compact = ok(q(warehouse, f"{sql} FORMAT JSONCompactEachRowWithNames")).splitlines()
    assert json.loads(compact[0]) == ["n", "s"] and len(compact) == rows + 1
    document = json.loads(ok(q(warehouse, f"{sql} FORMAT JSON")))
    assert document["rows"] == rows and len(document["data"]) == rows
    for fmt, read in [
        ("Arrow", lambda b: pa.ipc.open_file(pa.py_buffer(b)).read_all()),
        ("ArrowStream", lambda b: pa.ipc.open_stream(pa.py_buffer(b)).read_all()),
        ("Parquet", lambda b: pq.read_table(io.BytesIO(b))),
    ]:
        result = q(warehouse, f"{sql} FORMAT {fmt}")
        assert result.status_code == 200
        loaded = read(result.content)
        assert loaded.num_rows == rows, fmt
        assert sum(loaded.column("n").to_pylist()) == rows * (rows - 1) // 2, fmt


def test_empty_results_keep_their_header(warehouse: WarehouseProcess) -> None:
    assert ok(q(warehouse, "SELECT 1 AS a WHERE 0 FORMAT CSVWithNames")) == '"a"\n'
    assert json.loads(ok(q(warehouse, "SELECT 1 AS a WHERE 0 FORMAT JSON")))["rows"] == 0
    empty = q(warehouse, "SELECT toUInt8(1) AS a WHERE 0 FORMAT Arrow")
    assert pa.ipc.open_file(pa.py_buffer(empty.content)).schema.names == ["a"]
    assert ok(q(warehouse, "SELECT 1 WHERE 0")) == ""


def _compress(encoding: str, data: bytes) -> bytes:
    if encoding == "gzip":
        return gzip.compress(data)
    if encoding == "deflate":
        return zlib.compress(data)
    if encoding == "zstd":
        return zstd.compress(data)
    half = len(data) // 2  # two frames, as clickhouse-connect sends one per block
    return lz4.frame.compress(data[:half]) + lz4.frame.compress(data[half:])


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "zstd", "lz4"])
def test_compressed_request_bodies(warehouse: WarehouseProcess, encoding: str) -> None:
    name = table(warehouse)
    data = "".join(f"{i},name{i}\n" for i in range(20000)).encode()
    response = httpx.post(
        f"{warehouse.url}/",
        auth=warehouse.auth,
        params={"query": f"INSERT INTO {name} FORMAT CSV"},
        content=_compress(encoding, data),
        headers={"Content-Encoding": encoding},
    )
    ok(response)
    assert ok(q(warehouse, f"SELECT count(), sum(id) FROM {name}")) == f"20000\t{sum(range(20000))}\n"
    # ClickHouse's aliases: `gz` is gzip, `auto` with no file name is no compression.
    for alias, body in (("gz", gzip.compress(b"SELECT 7")), ("auto", b"SELECT 7")):
        aliased = httpx.post(
            f"{warehouse.url}/", auth=warehouse.auth, content=body, headers={"Content-Encoding": alias}
        )
        assert ok(aliased) == "7\n"
    # The SQL itself may be compressed too.
    compressed_query = httpx.post(
        f"{warehouse.url}/",
        auth=warehouse.auth,
        content=_compress(encoding, b"SELECT 42"),
        headers={"Content-Encoding": encoding},
    )
    assert ok(compressed_query) == "42\n"


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "zstd", "lz4"])
def test_compressed_responses(warehouse: WarehouseProcess, encoding: str) -> None:
    sql = "SELECT number, toString(number) FROM numbers(100000)"
    plain = q(warehouse, sql).content
    with httpx.stream(
        "POST",
        f"{warehouse.url}/",
        auth=warehouse.auth,
        params={"enable_http_compression": "1"},
        content=sql.encode(),
        headers={"Accept-Encoding": encoding},
    ) as response:
        assert response.headers["Content-Encoding"] == encoding
        raw = b"".join(response.iter_raw())
    if encoding == "gzip":
        decoded = gzip.decompress(raw)
    elif encoding == "deflate":
        decoded = zlib.decompress(raw)
    elif encoding == "zstd":
        decoded = zstd.decompress(raw)
    else:
        decoded = lz4.frame.decompress(raw)
    assert decoded == plain
    # enable_http_compression defaults to the engine's default (on in ClickHouse 26.9); 0 turns it off.
    default = httpx.post(
        f"{warehouse.url}/", auth=warehouse.auth, content=b"SELECT 1", headers={"Accept-Encoding": encoding}
    )
    assert default.headers["Content-Encoding"] == encoding
    refused = httpx.post(
        f"{warehouse.url}/",
        auth=warehouse.auth,
        params={"enable_http_compression": "0"},
        content=b"SELECT 1",
        headers={"Accept-Encoding": encoding},
    )
    assert "Content-Encoding" not in refused.headers


def test_server_side_parameters(warehouse: WarehouseProcess) -> None:
    response = q(
        warehouse,
        "SELECT {n:UInt32} + 1, {s:String}, {a:Array(UInt8)}, {d:Date}",
        param_n="41",
        param_s="it's",
        param_a="[1,2]",
        param_d="2026-11-23",
    )
    assert ok(response) == "42\tit\\'s\t[1,2]\t2026-11-23\n"


def test_url_settings_apply_to_one_query_only(warehouse: WarehouseProcess) -> None:
    session = uuid.uuid4().hex
    get = "SELECT getSetting('max_block_size')"
    default = ok(q(warehouse, get, session_id=session))
    assert ok(q(warehouse, get, session_id=session, max_block_size="777")) == "777\n"
    assert ok(q(warehouse, get, session_id=session)) == default
    # A SET inside the session is sticky; a URL setting still overrides it for one query only.
    ok(q(warehouse, "SET max_block_size = 555", session_id=session))
    assert ok(q(warehouse, get, session_id=session)) == "555\n"
    assert ok(q(warehouse, get, session_id=session, max_block_size="777")) == "777\n"
    assert ok(q(warehouse, get, session_id=session)) == "555\n"
    # Sessionless requests never see another request's settings.
    assert ok(q(warehouse, get, max_block_size="999")) == "999\n"
    for _ in range(4):
        assert ok(q(warehouse, get)) == default


def test_http_parameters_are_not_engine_settings(warehouse: WarehouseProcess) -> None:
    response = q(
        warehouse,
        "SELECT 1",
        wait_end_of_query="1",
        client_protocol_version="54405",
        send_progress_in_http_headers="1",
        buffer_size="1048576",
        quota_key="x",
    )
    assert ok(response) == "1\n"
    unknown = q(warehouse, "SELECT 1", no_such_setting="1")
    assert unknown.status_code == 404
    assert unknown.text.startswith("Code: 115. DB::Exception: Unknown setting 'no_such_setting'")
    assert unknown.headers["X-ClickHouse-Exception-Code"] == "115"


def test_sessions_keep_database_and_temporary_tables(warehouse: WarehouseProcess) -> None:
    session, other = uuid.uuid4().hex, uuid.uuid4().hex
    db = f"db_{uuid.uuid4().hex[:8]}"
    ok(q(warehouse, f"CREATE DATABASE {db}"))
    ok(q(warehouse, f"USE {db}", session_id=session))
    assert ok(q(warehouse, "SELECT currentDatabase()", session_id=session)) == f"{db}\n"
    ok(q(warehouse, "CREATE TEMPORARY TABLE tmp (x UInt8)", session_id=session))
    ok(q(warehouse, "INSERT INTO tmp FORMAT CSV", data=b"1\n2\n", session_id=session))
    assert ok(q(warehouse, "SELECT sum(x) FROM tmp", session_id=session)) == "3\n"
    assert q(warehouse, "SELECT sum(x) FROM tmp", session_id=other).status_code == 404
    assert q(warehouse, "SELECT sum(x) FROM tmp").status_code == 404


def test_session_expiry_and_session_check(warehouse: WarehouseProcess) -> None:
    session = uuid.uuid4().hex
    missing = q(warehouse, "SELECT 1", session_id=session, session_check="1")
    assert "Code: 372" in missing.text
    ok(q(warehouse, "CREATE TEMPORARY TABLE tmp (x UInt8)", session_id=session, session_timeout="1"))
    assert ok(q(warehouse, "SELECT count() FROM tmp", session_id=session, session_check="1")) == "0\n"

    def expired() -> bool:
        return "Code: 372" in q(warehouse, "SELECT count() FROM tmp", session_id=session, session_check="1").text

    # Looking at the session uses it, so look less often than it may idle (1 s, swept every second); the wait
    # stays well under the default timeout (60 s), so a session_timeout that is ignored still fails.
    wait_until(
        expired, timeout=30, interval=2.5, what="the session expired after idling past its session_timeout of 1 s"
    )
    too_long = q(warehouse, "SELECT 1", session_id=uuid.uuid4().hex, session_timeout="999999")
    assert too_long.status_code == 400


def _while_slow_query_runs(
    server: WarehouseProcess, **params: str
) -> tuple[dict[str, httpx.Response], threading.Thread]:
    marker = f"m{uuid.uuid4().hex[:8]}"
    slow = (
        f"SELECT sleepEachRow(0.5), '{marker}' FROM numbers(3) SETTINGS function_sleep_max_microseconds_per_block = 0"
    )
    results: dict[str, httpx.Response] = {}
    first = threading.Thread(target=lambda: results.update(slow=q(server, slow, **params)))
    first.start()

    def running() -> bool:
        # Sessionless, so it neither waits for the session nor takes it; once listed, the query holds the session.
        sql = f"SELECT count() FROM system.processes WHERE position(query, '{marker}') > 0 AND position(query, 'system.processes') = 0"
        return ok(q(server, sql)) == "1\n"

    wait_until(running, what="the slow query showed in system.processes")
    return results, first


def test_busy_session_refuses_a_concurrent_query(warehouse: WarehouseProcess) -> None:
    # As ClickHouse: no client Pulse supports shares a session between threads, and clickhouse-connect's own
    # suite expects SESSION_IS_LOCKED (not a queue) when one client is used from two threads; only a query that
    # is just letting go of the session is waited for (0.5 s).
    session, query_id = uuid.uuid4().hex, uuid.uuid4().hex
    results, first = _while_slow_query_runs(warehouse, session_id=session, query_id=query_id)
    same_id = q(warehouse, "SELECT 1", query_id=query_id)
    started = time.monotonic()
    locked = q(warehouse, "SELECT 1", session_id=session)
    refused_after = time.monotonic() - started
    first.join()
    assert results["slow"].status_code == 200
    assert "Code: 373" in locked.text
    assert refused_after < 2
    assert "Code: 216" in same_id.text
    assert ok(q(warehouse, "SELECT 1", session_id=session)) == "1\n"  # free again once the first finished


def test_a_sessions_next_request_waits_for_the_last_ones_tidy_up(warehouse: WarehouseProcess) -> None:
    """A request with external data answers first and drops its temporary table after: the client, which has its
    answer, sends the next request at once. That one is not concurrent and is served, never SESSION_IS_LOCKED."""
    session = uuid.uuid4().hex
    with httpx.Client(auth=warehouse.auth, timeout=60) as client:
        for i in range(40):
            response = client.post(
                f"{warehouse.url}/",
                params={"query": "SELECT sum(x) FROM ids", "ids_structure": "x UInt32", "session_id": session},
                files={"ids": ("ids.csv", f"{i}\n1\n".encode())},
            )
            assert ok(response) == f"{i + 1}\n"


def test_get_is_read_only(warehouse: WarehouseProcess) -> None:
    name = table(warehouse, "x UInt8")
    refused = httpx.get(f"{warehouse.url}/", auth=warehouse.auth, params={"query": f"INSERT INTO {name} VALUES (1)"})
    assert "Code: 164" in refused.text
    assert ok(q(warehouse, f"SELECT count() FROM {name}")) == "0\n"


def test_authentication_forms_and_read_only_user(warehouse: WarehouseProcess) -> None:
    reader_password = (warehouse.home / "secrets" / "warehouse_reader_password").read_text().strip()
    name = table(warehouse, "x UInt8")
    basic = httpx.post(f"{warehouse.url}/", content=b"SELECT currentUser()", auth=("pulse_reader", reader_password))
    headers = httpx.post(
        f"{warehouse.url}/",
        content=b"SELECT 1",
        headers={"X-ClickHouse-User": "pulse_reader", "X-ClickHouse-Key": reader_password},
    )
    params = q(warehouse, "SELECT 1", user="pulse_reader", password=reader_password)
    assert basic.status_code == headers.status_code == params.status_code == 200
    wrong = httpx.post(f"{warehouse.url}/", content=b"SELECT 1", auth=("pulse_reader", "wrong"))
    assert wrong.status_code == 403
    assert wrong.text.startswith("Code: 516. DB::Exception: pulse_reader: Authentication failed")
    assert "wrong" not in wrong.text
    unknown = q(warehouse, "SELECT 1", user="nobody")
    assert unknown.status_code == 403
    # The dashboards' user reads, but cannot write, create, or switch read-only off.
    for statement in (f"INSERT INTO {name} VALUES (1)", "CREATE TABLE x (a UInt8) ENGINE = Memory"):
        refused = q(warehouse, statement, user="pulse_reader", password=reader_password)
        assert "Code: 164" in refused.text, statement
    escalate = q(
        warehouse, f"INSERT INTO {name} VALUES (1)", user="pulse_reader", password=reader_password, readonly="0"
    )
    assert escalate.status_code != 200
    assert ok(q(warehouse, f"SELECT count() FROM {name}")) == "0\n"


def test_error_after_first_bytes_is_tagged_in_the_body(warehouse: WarehouseProcess) -> None:
    sql = "SELECT number, throwIf(number = 300000, 'boom') FROM numbers(400000)"
    response = q(warehouse, sql)
    assert response.status_code == 200  # the status was sent with the first rows
    tag = response.headers["X-ClickHouse-Exception-Tag"]
    assert f"__exception__\r\n{tag}\r\nCode: 395. DB::Exception: boom" in response.text
    assert response.text.rstrip().endswith(f"{tag}\r\n__exception__")
    # Asked to wait for the end of the query, the same failure is a proper error status.
    waited = q(warehouse, sql, wait_end_of_query="1")
    assert waited.status_code == 500 and "Code: 395" in waited.text


def test_error_codes_are_the_engines(warehouse: WarehouseProcess) -> None:
    """The codes the HTTP layer raises itself carry the numbers the engine knows them by."""
    listed = ",".join(str(code) for code in CODES.values())
    names = ok(q(warehouse, f"SELECT groupArray(errorCodeToName(c)) FROM (SELECT arrayJoin([{listed}]) AS c)"))
    engine_names = json.loads(names.replace("'", '"'))
    assert dict(zip(CODES.values(), engine_names, strict=True)) == {v: k for k, v in CODES.items()}


def test_keep_alive_survives_errors(warehouse: WarehouseProcess) -> None:
    with httpx.Client(base_url=warehouse.url, auth=warehouse.auth) as client:
        for _ in range(3):
            assert client.post("/", content=b"SELECT 1").text == "1\n"
            assert client.post("/", content=b"SELEC 1").status_code == 400
            assert client.post("/", content=b"SELECT * FROM no_such_table").status_code == 404


def test_no_form_is_read_before_its_sender_is_authenticated(warehouse: WarehouseProcess) -> None:
    """A multipart body is read whole (decompressed, up to its limit) into memory: as ClickHouse, the server
    checks the credentials of the URL or headers first, so nobody unauthenticated gets it to read one."""
    headers = {"Content-Type": "multipart/form-data; boundary=x", "Content-Encoding": "zstd"}
    body = b"not zstd at all: decoding it would fail"
    stranger = httpx.post(f"{warehouse.url}/", auth=("default", "wrong"), headers=headers, content=body)
    assert stranger.text.startswith("Code: 516.") and "AUTHENTICATION_FAILED" in stranger.text, stranger.text
    admin = httpx.post(f"{warehouse.url}/", auth=warehouse.auth, headers=headers, content=body)
    assert "CANNOT_DECOMPRESS" in admin.text, admin.text


def test_external_data_lives_for_one_query(warehouse: WarehouseProcess) -> None:
    """ClickHouse's external data: files in a multipart form become temporary tables for the query."""
    response = httpx.post(
        f"{warehouse.url}/",
        auth=warehouse.auth,
        params={"query": "SELECT sum(x), any(s) FROM ids", "ids_structure": "x UInt32, s String", "ids_format": "CSV"},
        files={"ids": ("ids.csv", b"1,a\n2,a\n3,a\n")},
    )
    assert ok(response) == "6\ta\n"
    typed = httpx.post(
        f"{warehouse.url}/",
        auth=warehouse.auth,
        data={"query": "SELECT sum(_1) FROM vals", "param_unused": "1"},
        params={"vals_types": "UInt8"},
        files={"vals": ("v.tsv", b"4\n5\n")},
    )
    assert ok(typed) == "9\n"
    assert q(warehouse, "SELECT * FROM ids").status_code == 404
    missing = httpx.post(
        f"{warehouse.url}/", auth=warehouse.auth, params={"query": "SELECT 1"}, files={"t": ("t.tsv", b"1\n")}
    )
    assert "Code: 36" in missing.text
