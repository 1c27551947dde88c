"""The SQLite reader process: operational tables read with connectorx, streamed to the parent as Arrow IPC.

Why a process of its own: connectorx carries its own copy of SQLite, and two copies of SQLite in one
process break each other's POSIX locks (closing any descriptor of a file drops every lock the process holds
on it), which silently spoils the WAL snapshots of the stdlib `sqlite3` the operational store is written
through. Here connectorx is simply another process reading the file. So this module never imports
`sqlite3`, and refuses to run if something did.

Why connectorx: it turns SQLite rows into Arrow columns in Rust, about three times less CPU per row than
Python objects, and reads ahead on its own thread while this one converts and writes.

Protocol (`python -m extractors.sqlite_reader`): the parent writes one JSON request per line on stdin
(see `request()`); for each, this process writes one Arrow IPC stream on stdout: the raw table's Arrow
schema (load columns included), record batches in change_seq order, end of stream, then the row count as 8 bytes (little-endian) so that the parent can
tell a complete stream from one cut short at a batch boundary. On any error it writes
the reason on stderr and exits with status 1, which cuts the stream short; the parent reports both. EOF on
stdin ends the process.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import struct
import sys
import urllib.parse
from dataclasses import dataclass
from typing import Any, BinaryIO

import connectorx as cx
import pyarrow as pa
import pyarrow.compute as pc

from extractors.conform import conform, with_load_columns
from extractors.faults import crash_point
from extractors.raw_types import CHANGE_SEQ, RawColumn, RawTable

_INT_KINDS = {"int16", "int32", "int64"}


def connectorx_type(decltype: str) -> str | None:
    """What connectorx makes of a declared SQLite column type (its rules, in its order), or None: then it
    types the column from the first row's value, and fails if that is NULL (so does every expression)."""
    s = decltype.lower()
    if s in ("int4", "int2"):
        return "int"
    if s in ("boolean", "bool"):
        return "bool"
    if s in ("date", "time"):
        return s
    if s in ("datetime", "timestamp"):
        return "timestamp"
    if "int" in s:
        return "int"
    if "char" in s or "clob" in s or "text" in s:
        return "text"
    if "real" in s or "floa" in s or "doub" in s:
        return "real"
    if "blob" in s:
        return "blob"
    return None


# The declared type connectorx must have recognised for a column of this kind to be read as it is.
_DIRECT = {
    "int16": "int",
    "int32": "int",
    "int64": "int",
    "bool": "bool",
    "float": "real",
    "string": "text",
    "date": "date",
}


@dataclass(frozen=True)
class Projection:
    """How one raw column is selected: an SQL expression of a fixed type, and maybe a NULL flag beside it."""

    column: RawColumn
    sql: str
    null_flag: str | None = None  # alias of a 0/1 column that says where the value is NULL


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def projection(column: RawColumn, decltype: str, index: int) -> Projection:
    """Select `column` so that connectorx types it right whatever the first row holds.

    Numerics, JSON and timestamps are read as text, as the in-process reader does (exact for numerics;
    timestamps are stored as text), and cast in Arrow. A CAST has no declared type, so connectorx would
    type it from the first row's value: a nullable one is read as IFNULL(..., '') plus a 0/1 flag column,
    and the NULLs are put back from the flag.
    """
    name = _quote(column.name)
    alias = _quote(f"c{index}")
    direct = _DIRECT.get(column.kind)
    if direct is not None and direct == connectorx_type(decltype):
        return Projection(column, f"{name} AS {alias}")
    if column.kind in _INT_KINDS or column.kind == "bool":
        expr, empty = f"CAST({name} AS INTEGER)", "0"
    elif column.kind == "float":
        expr, empty = f"CAST({name} AS REAL)", "0.0"
    else:  # decimal, json, timestamp, and string/date columns of a declared type connectorx does not know
        expr, empty = f"CAST({name} AS TEXT)", "''"
    if not column.nullable:
        return Projection(column, f"{expr} AS {alias}")
    flag = f"n{index}"
    return Projection(column, f"IFNULL({expr}, {empty}) AS {alias}, ({name} IS NULL) AS {_quote(flag)}", flag)


def _sql_literal(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        raise TypeError(f"unsupported bound value: {value!r}")
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def select_sql(table: RawTable, projections: list[Projection], request: dict[str, Any]) -> str:
    """The one statement that reads the request's rows (one statement is one snapshot of the table)."""
    columns = ", ".join(p.sql for p in projections)
    window = request.get("window")
    if window:
        column = _quote(window["column"])
        where = f"{column} >= {_sql_literal(window['start'])} AND {column} < {_sql_literal(window['end'])}"
    else:
        where = f"{_quote(CHANGE_SEQ)} > {_sql_literal(int(request['after']))}"
    return f"SELECT {columns} FROM {_quote(table.name)} WHERE {where} ORDER BY {_quote(CHANGE_SEQ)}"


def _declared_types(url: str, table: str) -> dict[str, str]:
    info = cx.read_sql(url, f"SELECT name, type FROM pragma_table_info({_sql_literal(table)})", return_type="arrow")
    return dict(zip(info.column("name").to_pylist(), info.column("type").to_pylist(), strict=True))


def _restore_nulls(batch: pa.RecordBatch, projections: list[Projection]) -> pa.Table:
    arrays: dict[str, pa.Array] = {}
    for i, p in enumerate(projections):
        values = batch.column(f"c{i}")
        if p.null_flag is not None:
            is_null = pc.not_equal(batch.column(p.null_flag), 0)
            values = pc.if_else(is_null, pa.scalar(None, values.type), values)
        arrays[p.column.name] = values
    return pa.table(arrays)


def stream_table(database: str, request: dict[str, Any], out: BinaryIO) -> int:
    """Answer one request: the rows as one Arrow IPC stream on `out`; returns the rows written."""
    table = RawTable.from_json(request["table"])
    url = "sqlite://" + urllib.parse.quote(database)
    declared = _declared_types(url, table.name)
    missing = [c.name for c in table.columns if c.name not in declared]
    if missing:
        raise LookupError(f"{table.name} has no column {', '.join(missing)} in {database}")
    projections = [projection(c, declared[c.name] or "", i) for i, c in enumerate(table.columns)]
    sql = select_sql(table, projections, request)
    reader = cx.read_sql(url, sql, return_type="arrow_stream", batch_size=int(request["block_rows"]))
    rows = 0
    with pa.ipc.new_stream(out, table.arrow_schema) as writer:
        for batch in reader:
            if batch.num_rows == 0:
                continue
            loaded_at = pa.scalar(dt.datetime.now(dt.UTC), pa.timestamp("ms", tz="UTC"))
            block = with_load_columns(conform(_restore_nulls(batch, projections), table), loaded_at)
            writer.write_table(block)
            out.flush()
            rows += block.num_rows
            crash_point("reader-mid-stream")
    out.write(struct.pack("<q", rows))  # the trailer: a stream cut short at a batch boundary is not complete
    out.flush()
    return rows


def main() -> int:
    if "_sqlite3" in sys.modules:  # see the module docstring: never two SQLite libraries in one process
        print("the SQLite reader process must not load the stdlib sqlite3 module", file=sys.stderr)
        return 2
    out = sys.stdout.buffer
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            database = request["database"]
            if not os.path.isfile(database):  # connectorx would create it, or retry for 30 s
                raise FileNotFoundError(f"operational database not found: {database}")
            stream_table(database, request, out)
        except BrokenPipeError:
            return 1  # the parent went away
        except Exception as exc:
            print(f"{type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
