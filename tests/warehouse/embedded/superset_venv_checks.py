"""Checks run INSIDE .venv-superset (clickhouse-connect 0.15.x, SQLAlchemy 1.4) against a running warehouse.

Superset cannot share Pulse's main venv (it pins SQLAlchemy < 2 and clickhouse-connect < 1.0), so
tests/warehouse/embedded/test_superset_client.py runs this file with that venv's Python:

    .venv-superset/bin/python tests/warehouse/embedded/superset_venv_checks.py --port PORT

Every check runs even when another fails; the last line of stdout is a JSON report
{"versions": {...}, "checks": {name: {"ok": bool, "detail": str}}}.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import decimal
import importlib.metadata
import json
import math
import sys
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

warnings.simplefilter("ignore")  # SQLAlchemy 1.4's 2.0-migration warnings are noise here

import clickhouse_connect  # noqa: E402 - after the warnings filter
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import sqlalchemy as sa  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # typed_data.py, shared with the main venv
from recording_pool import RecordingPoolManager  # noqa: E402
from typed_data import TYPED_COLUMNS, TYPED_ROWS  # noqa: E402

CC_VERSION = importlib.metadata.version("clickhouse-connect")
STREAM_ROWS = 1_000_000


CHECKS: dict[str, Callable[[Context], None]] = {}


def check(func: Callable[[Context], None]) -> Callable[[Context], None]:
    CHECKS[func.__name__] = func
    return func


class Context:
    def __init__(self, port: int, password: str) -> None:
        self.port = port
        self.password = password
        self.db = f"ss_{uuid.uuid4().hex[:12]}"
        self.sa_db = f"{self.db}_sa"  # only the SQLAlchemy checks' tables, so listings are exact

    def client(self, **kwargs: Any) -> Any:
        kwargs.setdefault("tz_mode", "schema")
        return clickhouse_connect.get_client(
            host="127.0.0.1", port=self.port, username="default", password=self.password, **kwargs
        )

    @contextlib.contextmanager
    def connected(self, **kwargs: Any) -> Iterator[Any]:
        client = self.client(**kwargs)
        try:
            yield client
        finally:
            client.close()

    def create(self, client: Any, table: str, columns: dict[str, str]) -> str:
        name = f"{self.db}.{table}"
        cols = ", ".join(f"`{n}` {t}" for n, t in columns.items())
        client.command(f"CREATE TABLE {name} ({cols}) ENGINE = MergeTree ORDER BY tuple()")
        return name


def expect(actual: Any, expected: Any, what: str) -> None:
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def plain(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return type(value)(plain(v) for v in value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


# -- clickhouse-connect 0.15 -----------------------------------------------------------------------------
@check
def versions(ctx: Context) -> None:
    if not CC_VERSION.startswith("0.15."):
        raise AssertionError(f"expected clickhouse-connect 0.15.x, got {CC_VERSION}")
    if not sa.__version__.startswith("1.4."):
        raise AssertionError(f"expected SQLAlchemy 1.4.x, got {sa.__version__}")


@check
def query_and_command(ctx: Context) -> None:
    with ctx.connected() as client:
        expect(client.server_version[:4], "26.9", "server version")
        expect(client.command("SELECT 40 + 2"), 42, "command scalar")
        table = ctx.create(client, "kv", {"k": "String", "v": "UInt64"})
        summary = client.command(f"INSERT INTO {table} SELECT toString(number), number FROM numbers(10)")
        expect(summary.written_rows, 10, "written rows")
        result = client.query(f"SELECT k, v * 2 AS doubled FROM {table} WHERE v < 3 ORDER BY v")
        expect(result.column_names, ("k", "doubled"), "column names")
        expect(result.result_rows, [("0", 0), ("1", 2), ("2", 4)], "rows")
        try:
            client.query(f"SELECT * FROM {ctx.db}.missing")
        except clickhouse_connect.driver.exceptions.DatabaseError as exc:
            if "UNKNOWN_TABLE" not in str(exc):
                raise
        else:
            raise AssertionError("a missing table did not raise")


def _typed_table(ctx: Context, client: Any, name: str) -> str:
    table = ctx.create(client, name, TYPED_COLUMNS)
    expect(client.insert(table, TYPED_ROWS, column_names=list(TYPED_COLUMNS)).written_rows, 2, "written rows")
    return table


@check
def typed_insert_query(ctx: Context) -> None:
    with ctx.connected() as client:
        table = _typed_table(ctx, client, "typed_native")
        result = client.query(f"SELECT * FROM {table} ORDER BY id")
        expect([t.name for t in result.column_types], list(TYPED_COLUMNS.values()), "column types")
        expect([list(r) for r in result.result_rows], TYPED_ROWS, "typed rows")


@check
def typed_query_df(ctx: Context) -> None:
    with ctx.connected() as client:
        table = _typed_table(ctx, client, "typed_df")
        df = client.query_df(f"SELECT * FROM {table} ORDER BY id")
        expect(list(df.columns), list(TYPED_COLUMNS), "df columns")
        expect([[plain(v) for v in r.values()] for r in df.to_dict("records")], TYPED_ROWS, "df rows")


@check
def typed_query_arrow(ctx: Context) -> None:
    with ctx.connected() as client:
        table = _typed_table(ctx, client, "typed_arrow")
        got = client.query_arrow(f"SELECT * FROM {table} ORDER BY id").to_pylist()
        for row, expected in zip(got, TYPED_ROWS, strict=True):
            e = dict(zip(TYPED_COLUMNS, expected, strict=True))
            e["attrs"] = list(e["attrs"].items())
            e["pair"] = {"1": e["pair"][0], "2": e["pair"][1]}
            e["color"] = {"red": 1, "green": 2}[e["color"]]
            e["level"] = {"low": -1000, "high": 1000}[e["level"]]
            if isinstance(row["uid"], bytes):  # pyarrow 18 has no arrow.uuid extension type
                row["uid"] = uuid.UUID(bytes=row["uid"])
            expect(row, e, "arrow row")


@check
def insert_df(ctx: Context) -> None:
    with ctx.connected() as client:
        table = ctx.create(
            client, "from_df", {"id": "UInt32", "name": "String", "score": "Float64", "n": "Nullable(Int64)"}
        )
        df = pd.DataFrame(
            {
                "id": pd.array([1, 2, 3], dtype="uint32"),
                "name": ["a", "ü", ""],
                "score": [1.5, -2.25, 1e300],
                "n": pd.array([1, None, -(2**62)], dtype="Int64"),
            }
        )
        expect(client.insert_df(table, df).written_rows, 3, "written rows")
        back = client.query_df(f"SELECT * FROM {table} ORDER BY id")
        expect(
            [[plain(v) for v in r.values()] for r in back.to_dict("records")],
            [[1, "a", 1.5, 1], [2, "ü", -2.25, None], [3, "", 1e300, -(2**62)]],
            "df round trip",
        )


@check
def insert_arrow(ctx: Context) -> None:
    with ctx.connected() as client:
        table = ctx.create(client, "from_arrow", {"id": "UInt32", "name": "String", "n": "Nullable(Int64)"})
        source = pa.table(
            {
                "id": pa.array(range(5000), pa.uint32()),
                "name": pa.array([f"name-{i}" for i in range(5000)]),
                "n": pa.array([None if i % 7 == 0 else i for i in range(5000)], pa.int64()),
            }
        )
        expect(client.insert_arrow(table, source).written_rows, 5000, "written rows")
        back = client.query_arrow(f"SELECT id, name, n FROM {table} ORDER BY id")
        expect(back.to_pylist(), source.to_pylist(), "arrow round trip")


STREAM_SQL = "SELECT number AS n FROM numbers({rows:UInt64})"


@check
def streaming(ctx: Context) -> None:
    expected = STREAM_ROWS * (STREAM_ROWS - 1) // 2
    params = {"rows": STREAM_ROWS}
    with ctx.connected() as client:
        total = rows = blocks = 0
        with client.query_row_block_stream(STREAM_SQL, parameters=params) as stream:
            for block in stream:
                blocks += 1
                rows += len(block)
                total += sum(r[0] for r in block)
        expect((rows, total, blocks > 1), (STREAM_ROWS, expected, True), "row block stream")
        total = rows = blocks = 0
        with client.query_df_stream(STREAM_SQL, parameters=params) as stream:
            for df in stream:
                blocks += 1
                rows += len(df)
                total += int(df["n"].sum())
        expect((rows, total, blocks > 1), (STREAM_ROWS, expected, True), "df stream")
        total = rows = blocks = 0
        with client.query_arrow_stream(STREAM_SQL, parameters=params) as stream:
            for batch in stream:
                blocks += 1
                rows += batch.num_rows
                total += sum(batch.column("n").to_pylist())
        expect((rows, total, blocks > 1), (STREAM_ROWS, expected, True), "arrow stream")


@check
def temp_table_in_session(ctx: Context) -> None:
    name = f"tmp_{uuid.uuid4().hex[:10]}"
    with ctx.connected() as client, ctx.connected() as other:
        client.command(f"CREATE TEMPORARY TABLE {name} (a UInt32)")
        client.insert(name, [[1], [2]], column_names=["a"])
        client.command(f"INSERT INTO {name} SELECT number + 10 FROM numbers(3)")
        expect(client.query(f"SELECT count(), sum(a) FROM {name}").result_rows, [(5, 36)], "own session")
        try:
            other.query(f"SELECT count() FROM {name}")
        except clickhouse_connect.driver.exceptions.DatabaseError as exc:
            if "UNKNOWN_TABLE" not in str(exc):
                raise
        else:
            raise AssertionError("another client's session saw the temporary table")


@check
def server_side_parameters(ctx: Context) -> None:
    with ctx.connected() as client:
        text = "it's a \\ \t 'quoted' \"text\" ; Привет"
        moment = dt.datetime(2024, 2, 29, 23, 59, 58)
        row = client.query(
            "SELECT {x:UInt32} + 1, {s:String}, arraySum({a:Array(UInt32)}), {d:DateTime}, {n:Nullable(Int8)}",
            parameters={"x": 41, "s": text, "a": [1, 2, 3, 4], "d": moment, "n": None},
        ).result_rows[0]
        expect(row, (42, text, 10, moment, None), "bound values")


@check
def compression(ctx: Context) -> None:
    problems: list[str] = []
    for compress in (False, True, "lz4", "zstd", "gzip"):
        pool = RecordingPoolManager()
        with ctx.connected(compress=compress, pool_mgr=pool) as client:
            table = ctx.create(client, f"comp_{str(compress).lower()}", {**TYPED_COLUMNS, "pad": "String"})
            many = [[i * 10 + r[0], *r[1:], "p" * 200] for i in range(2000) for r in TYPED_ROWS]
            pool.exchanges.clear()
            expect(client.insert(table, many, column_names=[*TYPED_COLUMNS, "pad"]).written_rows, 4000, "rows")
            sent = [x["sent_encoding"] for x in pool.exchanges]
            wanted = None if compress is False else ("lz4" if compress is True else compress)
            if wanted is not None and wanted not in sent:
                problems.append(f"compress={compress}: insert sent {sent}")
            pool.exchanges.clear()
            result = client.query(f"SELECT * EXCEPT pad FROM {table} WHERE id < 10 ORDER BY id")
            expect([list(r) for r in result.result_rows], TYPED_ROWS, f"compress={compress} rows")
            total = client.query(f"SELECT count(), sum(id) FROM {table}").result_rows
            expect(total, [(4000, sum(r[0] for r in many))], f"compress={compress} totals")
            for x in pool.exchanges:
                accepted = [] if x["accept"] is None else [e.strip() for e in x["accept"].split(",")]
                if compress is False and x["got_encoding"] is not None:
                    problems.append(f"compress=False: response encoded {x['got_encoding']}")
                if compress is not False and x["got_encoding"] not in accepted:
                    # ClickHouse 26.9 compresses by default (enable_http_compression = 1) when the client accepts it
                    problems.append(f"compress={compress}: accepted {accepted}, response encoding {x['got_encoding']}")
    if problems:
        raise AssertionError("; ".join(problems))


# -- SQLAlchemy 1.4 through clickhouse-connect's clickhousedb:// dialect (what Superset uses) --------------
def _engine(ctx: Context) -> Any:
    return sa.create_engine(f"clickhousedb://default:{ctx.password}@127.0.0.1:{ctx.port}/default")


def _sales(ctx: Context, conn: Any) -> str:
    table = f"{ctx.sa_db}.sales"
    conn.execute(
        sa.text(
            f"CREATE TABLE IF NOT EXISTS {table} (id UInt32, region LowCardinality(String), amount Decimal(12, 2),"
            " note Nullable(String), at DateTime) ENGINE = MergeTree ORDER BY id"
        )
    )
    conn.execute(sa.text(f"TRUNCATE TABLE {table}"))
    conn.execute(
        sa.text(
            f"INSERT INTO {table} SELECT number, ['north', 'south', 'east'][number % 3 + 1], number * 1.5, NULL,"
            " toDateTime('2024-01-01 00:00:00') + number FROM numbers(30)"
        )
    )
    conn.execute(sa.text(f"CREATE VIEW IF NOT EXISTS {ctx.sa_db}.big_sales AS SELECT * FROM {table} WHERE amount > 10"))
    return table


@check
def sqlalchemy_inspector(ctx: Context) -> None:
    engine = _engine(ctx)
    with engine.connect() as conn:
        _sales(ctx, conn)
    inspector = sa.inspect(engine)
    schemas = inspector.get_schema_names()
    for wanted in (ctx.sa_db, "default", "system"):
        if wanted not in schemas:
            raise AssertionError(f"schema {wanted} not in {schemas}")
    expect(sorted(inspector.get_table_names(schema=ctx.sa_db)), ["big_sales", "sales"], "tables")
    expect(inspector.has_table("sales", schema=ctx.sa_db), True, "has_table")
    columns = inspector.get_columns("sales", schema=ctx.sa_db)
    expect([c["name"] for c in columns], ["id", "region", "amount", "note", "at"], "column names")
    expect([c["nullable"] for c in columns], [False, False, False, True, False], "nullable flags")
    expect(type(columns[2]["type"]).__name__, "Decimal", "amount type")
    expect((columns[2]["type"].precision, columns[2]["type"].scale), (12, 2), "decimal precision")
    reflected = sa.Table("sales", sa.MetaData(), autoload_with=engine, schema=ctx.sa_db)
    expect(list(reflected.c.keys()), ["id", "region", "amount", "note", "at"], "reflected table")
    engine.dispose()


@check
def sqlalchemy_group_by_with_parameters(ctx: Context) -> None:
    engine = _engine(ctx)
    with engine.connect() as conn:
        table = _sales(ctx, conn)
        rows = conn.execute(
            sa.text(
                f"SELECT region, count() AS n, sum(amount) AS total FROM {table} "
                "WHERE id >= :lo AND region != :skip GROUP BY region ORDER BY region"
            ),
            {"lo": 3, "skip": "east"},
        ).fetchall()
        expect(
            [tuple(r) for r in rows],
            [("north", 9, decimal.Decimal("202.50")), ("south", 9, decimal.Decimal("216.00"))],
            "text() GROUP BY",
        )
        sales = sa.Table("sales", sa.MetaData(), autoload_with=conn, schema=ctx.sa_db)
        query = (
            sa.select(sales.c.region, sa.func.count().label("n"), sa.func.sum(sales.c.amount).label("total"))
            .where(sales.c.id >= sa.bindparam("lo"), sales.c.region.in_(sa.bindparam("regions", expanding=True)))
            .group_by(sales.c.region)
            .order_by(sales.c.region)
        )
        rows = conn.execute(query, {"lo": 3, "regions": ["east", "north"]}).fetchall()
        expect(
            [tuple(r) for r in rows],
            [("east", 9, decimal.Decimal("229.50")), ("north", 9, decimal.Decimal("202.50"))],
            "Core select GROUP BY",
        )
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--password-file", type=Path, required=True)
    args = parser.parse_args()
    ctx = Context(args.port, args.password_file.read_text().strip())
    report: dict[str, Any] = {
        "versions": {"clickhouse_connect": CC_VERSION, "sqlalchemy": sa.__version__},
        "checks": {},
    }
    with ctx.connected() as admin:
        admin.command(f"CREATE DATABASE {ctx.db}")
        admin.command(f"CREATE DATABASE {ctx.sa_db}")
    try:
        for name, func in CHECKS.items():
            try:
                func(ctx)
                report["checks"][name] = {"ok": True, "detail": ""}
            except Exception as exc:
                tail = "".join(traceback.format_exception(exc)[-3:])
                report["checks"][name] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}\n{tail}"[:3000]}
    finally:
        with ctx.connected() as admin:
            admin.command(f"DROP DATABASE IF EXISTS {ctx.db} SYNC")
            admin.command(f"DROP DATABASE IF EXISTS {ctx.sa_db} SYNC")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
