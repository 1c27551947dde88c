"""Bad input, limits, disconnects, shutdown and crashes: clear ClickHouse errors, nothing half-written,
the server keeps serving, and every acknowledged INSERT survives SIGKILL."""

from __future__ import annotations

import gzip
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import lz4.frame
import pyarrow as pa
import pytest
from backports import zstd

from tests.conftest import WarehouseProcess, free_port
from tests.polling import wait_until

SLOW = "SELECT sum(sleepEachRow(0.25)) FROM numbers(8) SETTINGS function_sleep_max_microseconds_per_block = 0, max_block_size = 1"


def post(server: WarehouseProcess, sql: str, data: bytes | None = None, **kw: object) -> httpx.Response:
    if data is None:
        return httpx.post(f"{server.url}/", content=sql.encode(), timeout=60, auth=server.auth, **kw)  # type: ignore[arg-type]
    return httpx.post(f"{server.url}/", params={"query": sql}, content=data, timeout=60, auth=server.auth, **kw)  # type: ignore[arg-type]


def new_table(server: WarehouseProcess) -> str:
    name = f"t_{uuid.uuid4().hex[:10]}"
    assert post(server, f"CREATE TABLE {name} (id UInt32, s String) ENGINE = MergeTree ORDER BY id").status_code == 200
    return name


def count(server: WarehouseProcess, name: str) -> int:
    return int(post(server, f"SELECT count() FROM {name}").text)


def still_serving(server: WarehouseProcess) -> None:
    assert post(server, "SELECT 1").text == "1\n"


@pytest.mark.parametrize(
    ("sql", "status", "code"),
    [
        ("SELEC 1", 400, 62),
        ("SELECT * FROM no_such_table", 404, 60),
        ("SELECT no_such_function(1)", 404, 46),
        ("SELECT 'unterminated", 400, 62),
        ("SELECT 1; DROP TABLE x", 400, 62),
        ("", 400, 62),
    ],
)
def test_bad_sql_is_a_clickhouse_error(warehouse: WarehouseProcess, sql: str, status: int, code: int) -> None:
    response = post(warehouse, sql)
    assert response.status_code == status
    assert response.text.startswith(f"Code: {code}. DB::Exception: ")
    assert response.headers["X-ClickHouse-Exception-Code"] == str(code)
    still_serving(warehouse)


def test_bad_row_in_insert_writes_nothing(warehouse: WarehouseProcess) -> None:
    name = new_table(warehouse)
    rows = b"1,a\n2,b\nnot-a-number,c\n4,d\n"
    response = post(warehouse, f"INSERT INTO {name} FORMAT CSV", rows)
    assert response.status_code == 400
    assert "Code: 27. DB::Exception" in response.text or "Code: 6" in response.text
    assert count(warehouse, name) == 0
    still_serving(warehouse)


def test_each_row_of_a_many_member_body_lands_once(warehouse: WarehouseProcess) -> None:
    """A gzip body of two members whose first decodes to more than one read of the body: the second member's
    rows land once (zlib hands the bytes after a member back twice; taking both copied them)."""
    name = new_table(warehouse)
    first = b"".join(b"%d,%s\n" % (i, b"x" * 20) for i in range(300_000))  # about 8 MB, over a 4 MiB read
    second = b"".join(b"%d,last\n" % i for i in range(300_000, 300_010))
    body = gzip.compress(first) + gzip.compress(second)
    response = post(warehouse, f"INSERT INTO {name} FORMAT CSV", body, headers={"Content-Encoding": "gzip"})
    assert response.status_code == 200, response.text
    assert post(warehouse, f"SELECT count(), uniqExact(id) FROM {name}").text == "300010\t300010\n"


def test_truncated_compressed_body_writes_nothing(warehouse: WarehouseProcess) -> None:
    name = new_table(warehouse)
    body = lz4.frame.compress(b"".join(b"%d,row\n" % i for i in range(50000)))
    response = post(
        warehouse, f"INSERT INTO {name} FORMAT CSV", body[: len(body) // 2], headers={"Content-Encoding": "lz4"}
    )
    assert response.text.startswith("Code: 271. DB::Exception: Cannot decompress lz4 request body")
    assert count(warehouse, name) == 0
    garbage = post(
        warehouse, f"INSERT INTO {name} FORMAT CSV", b"\x00garbage" * 10, headers={"Content-Encoding": "zstd"}
    )
    assert "Code: 271" in garbage.text
    cut_statement = httpx.post(
        f"{warehouse.url}/",
        content=zstd.compress(b"SELECT 1 FROM system.one")[:-4],
        headers={"Content-Encoding": "zstd"},
        auth=warehouse.auth,
    )
    assert cut_statement.text.startswith("Code: 271. DB::Exception: Cannot decompress zstd"), cut_statement.text
    unknown = post(warehouse, "SELECT 1", headers={"Content-Encoding": "snappy-ish"})
    assert "Code: 89" in unknown.text
    assert count(warehouse, name) == 0
    still_serving(warehouse)


def test_arrow_insert_that_is_no_arrow_file_writes_nothing(warehouse: WarehouseProcess) -> None:
    """An Arrow file is read as the stream inside it (warehouse/embedded/insert_feed.py): a body that is no Arrow
    file, or one whose stream breaks off, is still refused by the engine's reader, and nothing is written."""
    name = new_table(warehouse)
    source = pa.table({"id": pa.array(range(100_000), pa.uint32()), "s": pa.array(["x"] * 100_000)})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, source.schema) as writer:
        writer.write_table(source, max_chunksize=10_000)
    whole = sink.getvalue().to_pybytes()
    for body in (b"id,s\n1,a\n", whole[: len(whole) // 2], b"ARROW1\x00\x00" + b"\x07" * 64):
        response = post(warehouse, f"INSERT INTO {name} FORMAT Arrow", body)
        assert response.status_code >= 400, response.text
        assert response.text.startswith("Code: "), response.text
        assert count(warehouse, name) == 0
    assert post(warehouse, f"INSERT INTO {name} FORMAT Arrow", whole).status_code == 200
    assert count(warehouse, name) == 100_000
    still_serving(warehouse)


def test_body_cut_short_by_the_client_writes_nothing(warehouse: WarehouseProcess) -> None:
    name = new_table(warehouse)
    query = f"INSERT INTO {name} FORMAT CSV".replace(" ", "%20")
    partial = b"1,a\n2,b\n"
    with socket.create_connection(("127.0.0.1", warehouse.port)) as sock:
        sock.sendall(
            f"POST /?query={query}&password={warehouse.admin_password} HTTP/1.1\r\nHost: x\r\n"
            "Content-Length: 100000\r\n\r\n".encode()
            + partial
        )
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(10)
        sock.recv(65536)
    assert count(warehouse, name) == 0
    still_serving(warehouse)


def _peak_rss(server: WarehouseProcess) -> int:
    assert server.process is not None
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) * 1024


def test_compression_bombs_are_decoded_only_as_far_as_they_are_read(
    new_warehouse: Callable[..., WarehouseProcess],
) -> None:
    """A few hundred kilobytes of zstd or gzip can stand for gigabytes. An authenticated user sends them as a
    statement, an INSERT and an external-data form: each is refused or fails having decoded a few megabytes
    at a time, and the server's peak memory hardly moves (decoding a read of the body whole took gigabytes)."""
    server = new_warehouse()
    name = new_table(server)
    still_serving(server)
    baseline = _peak_rss(server)
    gib_of_a = 16 * [zstd.compress(b"a" * (64 << 20))]  # 1 GiB in about 40 KB

    statement = zstd.compress(b"SELECT '") + b"".join(gib_of_a)
    refused = httpx.post(
        f"{server.url}/", content=statement, headers={"Content-Encoding": "zstd"}, auth=server.auth, timeout=60
    )
    assert refused.status_code == 400 and "Max query size exceeded" in refused.text, refused.text

    rows = gzip.compress(b"x,y\n" * (16 << 20), compresslevel=1) * 16  # 1 GiB of bad rows in about 1 MB
    failed = post(server, f"INSERT INTO {name} FORMAT CSV", rows, headers={"Content-Encoding": "gzip"})
    assert failed.status_code != 200 and "DB::Exception" in failed.text, failed.text

    head = b'--x\r\nContent-Disposition: form-data; name="t"; filename="t.tsv"\r\n\r\n'
    form = zstd.compress(head) + b"".join(gib_of_a)
    too_large = httpx.post(
        f"{server.url}/",
        params={"query": "SELECT count() FROM t", "t_structure": "s String"},
        content=form,
        headers={"Content-Type": "multipart/form-data; boundary=x", "Content-Encoding": "zstd"},
        auth=server.auth,
        timeout=60,
    )
    assert too_large.status_code == 413 and "QUERY_IS_TOO_LARGE" in too_large.text, too_large.text

    # A form may be held up to its 32 MiB limit; nothing else is held whole.
    assert _peak_rss(server) - baseline < 256 << 20
    assert count(server, name) == 0
    still_serving(server)


@pytest.mark.parametrize(
    ("header", "first"),
    [(b"Content-Length: -1", b""), (b"Content-Length: +5", b""), (b"Transfer-Encoding: chunked", b"-1\r\n")],
)
def test_a_negative_body_size_is_refused_before_anything_is_read(
    warehouse: WarehouseProcess, header: bytes, first: bytes
) -> None:
    """Unauthenticated, with a size int() would take: -1 meant "read to the end of the stream", past every limit,
    so the server buffered whatever was sent for as long as the connection stayed open."""
    request = b"POST / HTTP/1.1\r\nHost: x\r\n" + header + b"\r\n\r\n" + first + b"x" * 65536
    with socket.create_connection(("127.0.0.1", warehouse.port), timeout=10) as sock:
        sock.sendall(request)  # and the connection stays open: the answer must not wait for its end
        answer = b""
        while piece := sock.recv(65536):  # the server answers and closes (a timeout here is the failure)
            answer += piece
    assert answer.startswith(b"HTTP/1.1 4"), answer
    still_serving(warehouse)


def test_oversized_body_is_refused(new_warehouse: Callable[..., WarehouseProcess]) -> None:
    server = new_warehouse(PULSE_WAREHOUSE_MAX_BODY_BYTES="100000")
    name = new_table(server)
    big = b"".join(b"%d,%s\n" % (i, b"x" * 20) for i in range(20000))
    declared = post(server, f"INSERT INTO {name} FORMAT CSV", big)
    assert declared.status_code == 413
    assert declared.text.startswith("Code: 229. DB::Exception: Request body")

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    streamed = post(server, f"INSERT INTO {name} FORMAT CSV", chunks())  # type: ignore[arg-type]
    assert streamed.status_code == 413
    assert count(server, name) == 0
    assert post(server, f"INSERT INTO {name} FORMAT CSV", b"1,small\n").status_code == 200
    assert count(server, name) == 1


def test_concurrent_query_limit(new_warehouse: Callable[..., WarehouseProcess]) -> None:
    server = new_warehouse(PULSE_WAREHOUSE_MAX_CONCURRENT_QUERIES="1", PULSE_WAREHOUSE_QUEUE_WAIT_SECONDS="0.2")
    still_serving(server)  # a pooled connection is ready: a probe below holds the only slot for a moment only
    results: list[httpx.Response] = []
    slow = threading.Thread(target=lambda: results.append(post(server, SLOW)))
    slow.start()

    def not_served() -> httpx.Response | None:
        # With one slot even system.processes is refused while the slow query runs: a refusal is what shows it.
        probe = post(server, "SELECT 1")
        return probe if probe.status_code != 200 else None

    refused = wait_until(not_served, what="a query was refused while the slow query held the only slot")
    slow.join()
    assert refused.text.startswith("Code: 202. DB::Exception: Too many simultaneous queries")
    assert results[0].status_code == 200, results[0].text
    still_serving(server)


def _running(server: WarehouseProcess, marker: str) -> int:
    sql = f"SELECT count() FROM system.processes WHERE position(query, '{marker}') > 0 AND position(query, 'system.processes') = 0"
    return int(post(server, sql).text)


def test_client_disconnect_cancels_its_query(warehouse: WarehouseProcess) -> None:
    marker = f"m{uuid.uuid4().hex[:8]}"
    sql = f"SELECT sum(cityHash64(number)), '{marker}' FROM numbers(100000000000) SETTINGS max_threads = 1"
    with socket.create_connection(("127.0.0.1", warehouse.port)) as sock:
        body = sql.encode()
        auth = f"password={warehouse.admin_password}".encode()
        sock.sendall(b"POST /?%b HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%b" % (auth, len(body), body))
        running = wait_until(lambda: _running(warehouse, marker), what="the query showed in system.processes")
        assert running == 1
    wait_until(
        lambda: _running(warehouse, marker) == 0,
        what="the query left system.processes after its client disconnected",
    )
    still_serving(warehouse)


def test_sigterm_finishes_running_queries_then_exits(new_warehouse: Callable[..., WarehouseProcess]) -> None:
    server = new_warehouse()
    results: list[httpx.Response] = []
    slow = threading.Thread(target=lambda: results.append(post(server, SLOW)))
    slow.start()
    wait_until(lambda: _running(server, "sleepEachRow"), what="the slow query showed in system.processes")
    assert server.process is not None
    server.process.send_signal(signal.SIGTERM)
    slow.join()
    assert results[0].status_code == 200
    assert results[0].text == "0\n"
    assert server.process.wait(30) == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/ping")


def test_every_acknowledged_insert_survives_sigkill(new_warehouse: Callable[..., WarehouseProcess]) -> None:
    server = new_warehouse()
    name = new_table(server)
    acknowledged: list[int] = []
    stop = threading.Event()

    def writer() -> None:
        client = server.client()
        batch = 0
        while not stop.is_set():
            rows = [[batch * 1000 + i, f"b{batch}"] for i in range(1000)]
            try:
                client.insert(name, rows, column_names=["id", "s"])
            except Exception:
                return  # the server is gone: this batch was not acknowledged
            acknowledged.append(batch)
            batch += 1

    thread = threading.Thread(target=writer)
    thread.start()
    # Kill it while the writer is busy, once it has a few acknowledged batches (or has stopped: asserted below).
    wait_until(
        lambda: len(acknowledged) > 5 or not thread.is_alive(),
        timeout=60,
        what="the writer had 6 batches acknowledged",
    )
    assert server.process is not None
    server.process.kill()
    server.process.wait()
    stop.set()
    thread.join()
    assert len(acknowledged) > 5

    restarted = WarehouseProcess(home=server.home, port=free_port()).start()
    try:
        per_batch = post(
            restarted,
            f"SELECT intDiv(id, 1000) AS b, count() FROM {name} GROUP BY b ORDER BY b FORMAT JSONCompactEachRow",
        )
        counts = {row[0]: row[1] for row in map(eval_row, per_batch.text.splitlines())}
        for batch in acknowledged:
            assert counts.get(batch) == 1000, f"acknowledged batch {batch} lost"
        assert all(n == 1000 for n in counts.values()), "a batch was half-written"
    finally:
        restarted.stop()


def eval_row(line: str) -> list[int]:
    import json

    return [int(v) for v in json.loads(line)]


def test_cli_start_status_stop(tmp_path: object) -> None:
    port = free_port()
    env = {
        "PULSE_HOME": str(tmp_path),
        "PULSE_CLICKHOUSE_URL": f"http://default:@127.0.0.1:{port}",
        "PATH": "/usr/bin:/bin",
    }
    pulse = [sys.executable, "-m", "pulse"]
    started = subprocess.run([*pulse, "warehouse", "start"], env=env, capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    try:
        again = subprocess.run([*pulse, "warehouse", "start"], env=env, capture_output=True, text=True, timeout=60)
        assert again.returncode == 0  # idempotent
        status = subprocess.run([*pulse, "warehouse", "status"], env=env, capture_output=True, text=True, timeout=60)
        assert status.returncode == 0
        assert "healthy" in status.stderr
        password = (Path(str(tmp_path)) / "secrets" / "warehouse_default_password").read_text().strip()
        assert httpx.post(f"http://127.0.0.1:{port}/", content=b"SELECT 1", auth=("default", password)).text == "1\n"
    finally:
        stopped = subprocess.run([*pulse, "warehouse", "stop"], env=env, capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 0
    status = subprocess.run([*pulse, "warehouse", "status"], env=env, capture_output=True, text=True, timeout=60)
    assert status.returncode == 1


class _ResetBody:
    """A request body whose client resets the connection after the first piece."""

    def __init__(self) -> None:
        self.reads = 0

    def read(self, size: int = 0) -> bytes:
        self.reads += 1
        if self.reads == 1:
            return b"1\n"
        raise ConnectionResetError("client went away")

    def readline(self, size: int = 0) -> bytes:
        return self.read(size)


def test_a_client_reset_while_its_insert_is_read_ahead_is_no_engine_error() -> None:
    """The read-ahead thread's socket error reaches the handler as a socket error (it closes the connection),
    not as an engine error answered on a dead socket; and draining a reset body closes instead of raising."""
    from types import SimpleNamespace

    from warehouse.embedded.http_server import BodyReader, ClickHouseHandler

    cancelled: list[bool] = []
    inserter = SimpleNamespace(append=lambda piece: None, finish=lambda: None, cancel=lambda: cancelled.append(True))
    conn = SimpleNamespace(raw=SimpleNamespace(send_insert=lambda sql, fmt: inserter))
    with pytest.raises(ConnectionResetError):
        ClickHouseHandler._insert(conn, "INSERT INTO t", "TSV", b"", _ResetBody())  # type: ignore[arg-type]
    assert cancelled == [True]

    body = BodyReader(_ResetBody(), {"Content-Length": "100"}, max_bytes=1000)  # type: ignore[arg-type]
    assert body.read() == b"1\n"
    body.drain()  # no exception escapes the error path that drains a body
    assert not body.clean and not body.received
