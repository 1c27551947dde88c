"""Warehouse benchmark: the embedded HTTP server against the same engine used in-process (the ceiling).

In one run, on the same 5M rows x 6 columns:
- inserts through clickhouse-connect over HTTP (Arrow and Native, compressed and not) versus the same
  Arrow data streamed into chdb in-process;
- GROUP BY queries returning up to 1,000 rows over HTTP versus in-process (median of repeated runs);
- the same queries as the read-only user against the admin: the grant check on a statement seen before
  (cached) and on one new to the server (parsed with EXPLAIN AST and its tables looked up);
- the server's peak memory while it streams a 1M-row and a 10M-row SELECT (flat = streaming works).

Goals: HTTP inserts at least 0.8x of in-process for Arrow and 0.9x for Native. "ArrowStream bytes" is what
extract-load sends (the same bytes as the ceiling, so only the HTTP path differs); "Arrow" is clickhouse-connect's
`insert_arrow`, which also serialises the table to the Arrow file format on the client. Given bytes, the client
copies statement and payload into one body before it sends anything; the "streamed" rows send the same bytes as
a generator of 1 MiB pieces, as extract-load does, which is the server's path without that copy. The server reads the body on a thread of its own while the engine parses, and feeds an Arrow file (what
clickhouse-connect's `insert_arrow` sends) to the engine as the stream inside it (warehouse/embedded/insert_feed.py).

Run: `.venv/bin/python benchmarks/warehouse_bench.py [--rows 5000000]`
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import chdb
import clickhouse_connect
import httpx
import numpy as np
import pyarrow as pa
from rich.console import Console
from rich.table import Table

from pulse.core.settings import READER_USER, Settings
from warehouse.embedded import server

console = Console()
DDL = (
    "CREATE TABLE {name} (id UInt64, sold_at DateTime, hospital_id UInt16, sku LowCardinality(String), "
    "qty UInt8, amount Float64) ENGINE = MergeTree ORDER BY id"
)
QUERIES = {
    "by hospital (1,000 rows)": "SELECT hospital_id, count(), sum(amount), avg(qty) FROM {t} GROUP BY hospital_id",
    "by day (365 rows)": "SELECT toDate(sold_at) AS d, sum(qty), sum(amount) FROM {t} GROUP BY d ORDER BY d",
    "by sku (40 rows)": "SELECT sku, count(), quantile(0.5)(amount) FROM {t} GROUP BY sku",
    "top 100 hospitals": "SELECT hospital_id, sum(amount) AS s FROM {t} GROUP BY hospital_id ORDER BY s DESC LIMIT 100",
}


def make_rows(rows: int) -> pa.Table:
    rng = np.random.default_rng(42)
    start = 1_735_689_600  # 2025-01-01
    skus = np.array([f"KIT-{size}-{kind}" for size in ("XS", "S", "M", "L", "XL") for kind in range(8)])
    return pa.table(
        {
            "id": np.arange(rows, dtype=np.uint64),
            "sold_at": pa.array(start + rng.integers(0, 365 * 86400, rows), pa.timestamp("s")).cast(
                pa.timestamp("s", tz="UTC")
            ),
            "hospital_id": rng.integers(1, 1001, rows).astype(np.uint16),
            "sku": pa.array(skus[rng.integers(0, len(skus), rows)]),
            "qty": rng.integers(1, 4, rows).astype(np.uint8),
            "amount": np.round(rng.uniform(5, 60, rows), 2),
        }
    )


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


INSERT_RUNS = 3


def median_of(run: Callable[[], Any], reset: Callable[[], Any], runs: int) -> float:
    """Median of `runs` timed runs after one untimed warm-up (first-touch allocations are not the path)."""
    seconds = []
    for attempt in range(runs + 1):
        reset()
        elapsed = timed(run)
        if attempt:
            seconds.append(elapsed)
    return statistics.median(seconds)


def arrow_stream_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=65536)
    return sink.getvalue().to_pybytes()


def in_process(table: pa.Table, payload: bytes, data_dir: Path, repeats: int) -> tuple[float, dict[str, float], bytes]:
    conn = chdb.connect(str(data_dir))
    conn.query(DDL.format(name="t"))

    def insert() -> None:
        inserter = conn.send_insert("INSERT INTO t", "ArrowStream")
        for start in range(0, len(payload), 1 << 20):
            inserter.append(payload[start : start + (1 << 20)])
        inserter.finish()

    insert_seconds = median_of(insert, lambda: conn.query("TRUNCATE TABLE t"), INSERT_RUNS)
    native = conn.query("SELECT * FROM t", "Native").bytes()
    conn.query("OPTIMIZE TABLE t FINAL")  # one part, no background merges while timing queries
    latencies = {}
    for label, sql in QUERIES.items():
        conn.query(sql.format(t="t"), "Native")  # warm
        latencies[label] = statistics.median(
            timed(partial(conn.query, sql.format(t="t"), "Native")) for _ in range(repeats)
        )
    conn.close()
    return insert_seconds, latencies, native


def streamed_insert(client: Any, name: str, columns: list[str], data: bytes, fmt: str) -> None:
    """The body as a generator of 1 MiB pieces, as extract-load sends it. Given bytes, clickhouse-connect first
    copies the statement and the whole payload into one new body (about 0.1 s for 183 MB, before the first byte
    leaves); given a generator it streams, so this row is the server's path without that client-side copy."""
    view = memoryview(data)
    pieces = (bytes(view[start : start + (1 << 20)]) for start in range(0, len(data), 1 << 20))
    client.raw_insert(name, columns, pieces, fmt=fmt)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def peak_rss_during(pid: int, fn: Callable[[], Any]) -> int:
    peak, done = 0, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_kib(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        fn()
    finally:
        done.set()
        sampler.join()
    return peak


def latency_table(
    title: str, names: tuple[str, str], first: dict[str, float], second: dict[str, float], digits: int
) -> Table:
    """Each query's median latency on two paths, and the second against the first."""
    table = Table(title=title)
    for col in ("query", f"{names[0]} ms", f"{names[1]} ms", f"{names[1]} / {names[0]}"):
        table.add_column(col, justify="right" if col != "query" else "left")
    for label in QUERIES:
        a, b = first[label] * 1000, second[label] * 1000
        table.add_row(label, f"{a:.1f}", f"{b:.1f}", f"{b / a:.{digits}f}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--port", type=int, default=18123)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="pulse-bench-") as tmp:
        home = Path(tmp)
        with console.status(f"generating {args.rows:,} rows x 6 columns"):
            table = make_rows(args.rows)
            payload = arrow_stream_bytes(table)
        with console.status("in-process chdb: insert and queries (the ceiling)"):
            ceiling_insert, ceiling_queries, native = in_process(table, payload, home / "inprocess", args.repeats)

        settings = Settings(home=home / "served", clickhouse_url=f"http://default:@127.0.0.1:{args.port}")
        pid = server.start(settings)
        try:
            inserts: dict[str, float] = {}
            for label, compress, encoding in [
                ("Arrow, uncompressed", False, "arrow"),
                ("ArrowStream bytes, uncompressed", False, "arrowstream"),
                ("ArrowStream streamed, uncompressed", False, "arrowstream-streamed"),
                ("Native, uncompressed", False, "native"),
                ("Native streamed, uncompressed", False, "native-streamed"),
                ("Arrow, lz4", "lz4", "arrow"),
                ("Native, lz4", "lz4", "native"),
                ("Arrow, zstd", "zstd", "arrow"),
                ("Native from pandas, uncompressed", False, "pandas"),
            ]:
                client = clickhouse_connect.get_client(
                    host="127.0.0.1", port=args.port, compress=compress, password=settings.admin_password()
                )
                name = "t_" + "".join(c for c in label.lower() if c.isalnum())
                client.command(DDL.format(name=name))
                with console.status(f"HTTP insert: {label}"):
                    run: Callable[[], Any]
                    if encoding == "arrow":
                        run = partial(client.insert_arrow, name, table)
                    elif encoding == "arrowstream":
                        run = partial(client.raw_insert, name, table.column_names, payload, fmt="ArrowStream")
                    elif encoding.endswith("-streamed"):
                        data, fmt = (payload, "ArrowStream") if encoding.startswith("arrow") else (native, "Native")
                        run = partial(streamed_insert, client, name, table.column_names, data, fmt)
                    elif encoding == "native":
                        # Native bytes as the client library would produce them, so that the server's
                        # path is measured and not pandas-to-Native encoding on the client.
                        run = partial(client.raw_insert, name, table.column_names, native, fmt="Native")
                    else:
                        run = partial(client.insert_df, name, table.to_pandas())
                    inserts[label] = median_of(run, partial(client.command, f"TRUNCATE TABLE {name}"), INSERT_RUNS)
                count = client.query(f"SELECT count() FROM {name}").result_rows[0][0]
                assert count == args.rows, f"{label}: {count} rows arrived"
                if name != "t_arrowuncompressed":
                    client.command(f"DROP TABLE {name}")  # no background merges during the query timings

            client.command("OPTIMIZE TABLE t_arrowuncompressed FINAL")

            client = clickhouse_connect.get_client(host="127.0.0.1", port=args.port, password=settings.admin_password())
            http_queries: dict[str, float] = {}
            with console.status("HTTP GROUP BY queries"):
                for label, sql in QUERIES.items():
                    client.query(sql.format(t="t_arrowuncompressed"))
                    http_queries[label] = statistics.median(
                        timed(partial(client.query, sql.format(t="t_arrowuncompressed"))) for _ in range(args.repeats)
                    )
            # The same queries as the read-only user: each is first checked against its grants (warehouse/access.py).
            client.command("CREATE DATABASE IF NOT EXISTS marts")
            client.command("CREATE TABLE marts.bench AS t_arrowuncompressed")
            client.command("INSERT INTO marts.bench SELECT * FROM t_arrowuncompressed")
            client.command("OPTIMIZE TABLE marts.bench FINAL")
            reader = clickhouse_connect.get_client(
                host="127.0.0.1", port=args.port, username=READER_USER, password=settings.reader_password()
            )
            admin_checked: dict[str, float] = {}
            reader_queries: dict[str, float] = {}
            reader_unseen: dict[str, float] = {}
            with console.status("HTTP GROUP BY queries: admin and read-only user on marts.bench"):
                for label, sql in QUERIES.items():
                    for who, results in ((client, admin_checked), (reader, reader_queries)):
                        who.query(sql.format(t="marts.bench"))
                        results[label] = statistics.median(
                            timed(partial(who.query, sql.format(t="marts.bench"))) for _ in range(args.repeats)
                        )
                    # A new comment makes each statement one the server has not checked yet: the full parse.
                    reader_unseen[label] = statistics.median(
                        timed(partial(reader.query, f"/* run {i} */ " + sql.format(t="marts.bench")))
                        for i in range(args.repeats)
                    )

            with console.status("server memory while streaming big SELECTs"):
                base = rss_kib(pid)
                memory = {}
                for rows in (1_000_000, 10_000_000):

                    def stream_all(n: int = rows) -> None:
                        sql = f"SELECT number, toString(number), number * 2.5 FROM numbers({n}) FORMAT Native"
                        url = f"http://127.0.0.1:{args.port}/"
                        auth = ("default", settings.admin_password())
                        with httpx.stream("POST", url, content=sql.encode(), auth=auth) as r:
                            for _ in r.iter_raw(1 << 20):
                                pass

                    memory[rows] = peak_rss_during(pid, stream_all) - base
        finally:
            server.stop(settings)

    ins = Table(title=f"Inserts: {args.rows:,} rows x 6 columns", show_lines=False)
    for col in ("path", "seconds", "rows/s", "x in-process"):
        ins.add_column(col, justify="right" if col != "path" else "left")
    ins.add_row("in-process chdb (ceiling)", f"{ceiling_insert:.2f}", f"{args.rows / ceiling_insert:,.0f}", "1.00")
    for label, seconds in inserts.items():
        ins.add_row(f"HTTP {label}", f"{seconds:.2f}", f"{args.rows / seconds:,.0f}", f"{ceiling_insert / seconds:.2f}")
    console.print(ins)

    console.print(latency_table(f"GROUP BY latency, median of {args.repeats}", ("in-process", "HTTP"),
                                ceiling_queries, http_queries, 2))  # fmt: skip
    console.print(latency_table(
        f"Per-query grant check: the read-only user against the admin, median of {args.repeats}",
        ("admin", "pulse_reader"), admin_checked, reader_queries, 3,
    ))  # fmt: skip
    console.print(latency_table(
        f"The same, each statement new to the server (checked in full), median of {args.repeats}",
        ("admin", "pulse_reader"), admin_checked, reader_unseen, 3,
    ))  # fmt: skip

    mem = Table(title="Server peak memory above idle while streaming a SELECT")
    mem.add_column("rows")
    mem.add_column("peak RSS growth MiB", justify="right")
    for rows, kib in memory.items():
        mem.add_row(f"{rows:,}", f"{kib / 1024:.0f}")
    console.print(mem)
    console.print("A 10M-row Native result is about 300 MiB: buffering it would show here; streaming does not.")


if __name__ == "__main__":
    main()
