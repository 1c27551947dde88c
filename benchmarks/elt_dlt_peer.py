"""The extract-load benchmark's peer: dlt's `sql_database` source into dlt's ClickHouse destination.

Runs in `.venv-bench` (`make bench-env`), started by `benchmarks/elt_bench.py`, one phase per process:
`full` (a fresh pipeline, every table from the start) or `incremental` (the same pipeline, its state kept in
`--pipelines-dir` and in the destination, loading rows with a higher `change_seq`). Prints its timings as one
JSON object on the last line of stdout.

dlt runs SQL through `clickhouse_driver` (ClickHouse's native TCP protocol); the embedded warehouse speaks HTTP
only, so `benchmarks/dlt_shim` (a `clickhouse_driver` over clickhouse-connect's HTTP client) goes first on
`sys.path`. dlt's data path (extract, normalize, loading files through clickhouse-connect) is dlt's own.

Run by hand: `.venv-bench/bin/python benchmarks/elt_dlt_peer.py --sqlite ops.db --port 18800 --spec spec.json
--pipelines-dir dir --phase full`
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent / "dlt_shim"))
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")

import dlt
import sqlalchemy as sa
from dlt.destinations.impl.clickhouse.sql_client import ClickHouseSqlClient
from dlt.sources.sql_database import sql_database

# dlt sends local files with `Content-Encoding: auto` (parquet) or `gz` (gzipped jsonl). ClickHouse reads those
# as "no file name to guess from, so none" and "gzip"; the embedded warehouse refuses both with
# UNKNOWN_COMPRESSION_METHOD (warehouse/embedded/codecs.py, decoder_for). Translate the header value only: the file
# and everything else dlt does are unchanged.
_insert_file = ClickHouseSqlClient.insert_file
HTTP_ENCODING = {"auto": None, "none": None, "gz": "gzip"}


def _insert_file_with_http_encoding(
    self: ClickHouseSqlClient, file_path: str, table_name: str, file_format: str, compression: str
) -> Any:
    return _insert_file(self, file_path, table_name, file_format, HTTP_ENCODING.get(compression, compression))


ClickHouseSqlClient.insert_file = _insert_file_with_http_encoding


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sqlite", required=True, type=Path, help="the operational SQLite file")
    parser.add_argument("--port", required=True, type=int, help="the warehouse's HTTP port")
    parser.add_argument("--database", default="dlt_bench", help="warehouse database dlt loads into")
    parser.add_argument("--dataset", default="ops", help="dlt dataset (a table-name prefix on ClickHouse)")
    parser.add_argument("--spec", required=True, type=Path, help='JSON {"tables": {name: [columns]}}')
    parser.add_argument("--pipelines-dir", required=True, type=Path)
    parser.add_argument("--phase", choices=["full", "incremental"], required=True)
    parser.add_argument("--backend", default="pyarrow", choices=["pyarrow", "sqlalchemy", "connectorx", "pandas"])
    parser.add_argument("--chunk-size", type=int, default=50_000)
    args = parser.parse_args()

    spec: dict[str, Any] = json.loads(args.spec.read_text())
    columns: dict[str, list[str]] = spec["tables"]

    def adapt_table(table: Any) -> None:
        """The same columns as Pulse extracts (secrets stay in the operational store). Dates are read as their
        ISO text: dlt maps `date` to ClickHouse's `Date` (1970..2149), which refuses birth dates before 1970."""
        wanted = columns.get(table.name)
        for column in list(table._columns):
            if wanted is not None and column.name not in wanted:
                table._columns.remove(column)
            elif isinstance(column.type, sa.Date) and not isinstance(column.type, sa.DateTime):
                column.type = sa.String()

    started = time.perf_counter()
    source = sql_database(
        credentials=f"sqlite:///{args.sqlite}",
        table_names=list(columns),
        backend=args.backend,
        chunk_size=args.chunk_size,
        table_adapter_callback=adapt_table,
    )
    for resource in source.resources.values():
        resource.apply_hints(incremental=dlt.sources.incremental("change_seq"))
    destination = dlt.destinations.clickhouse(
        credentials={
            "host": "127.0.0.1",
            "port": args.port,  # the shim takes the DSN's port as the HTTP port
            "http_port": args.port,
            "username": "default",
            "password": os.environ.get("PULSE_BENCH_WAREHOUSE_PASSWORD", ""),  # never on the command line
            "database": args.database,
            "secure": 0,
        }
    )
    pipeline = dlt.pipeline(
        pipeline_name="elt_bench",
        pipelines_dir=str(args.pipelines_dir),
        destination=destination,
        dataset_name=args.dataset,
    )
    file_format = "jsonl" if args.backend == "sqlalchemy" else "parquet"
    info = pipeline.run(source, write_disposition="append", loader_file_format=file_format)
    seconds = time.perf_counter() - started
    info.raise_on_failed_jobs()

    trace = pipeline.last_trace
    steps = {step.step: (step.finished_at - step.started_at).total_seconds() for step in trace.steps}
    normalize = trace.last_normalize_info
    row_counts = {k: int(v) for k, v in (normalize.row_counts if normalize else {}).items()}
    print(
        json.dumps(
            {
                "phase": args.phase,
                "backend": args.backend,
                "file_format": file_format,
                "seconds": seconds,
                "steps": steps,
                "rows": sum(v for k, v in row_counts.items() if not k.startswith("_dlt")),
                "row_counts": row_counts,
                "table_prefix": f"{args.dataset}___",
            }
        )
    )


if __name__ == "__main__":
    main()
