"""`system.query_log` and `system.session_log`: what the server ran and who logged in, as ClickHouse keeps them.

chdb (clickhouse-local) keeps neither under the ids clients know: it names every query itself and has no
logins. So the server records them (under the client's `query_id` and the HTTP `session_id`) into two tables
it creates at start in the engine's `system` database, which lives in memory: the logs last as long as the
server, bounded in rows and bytes like ClickHouse's in time. Rows are batched and written by one thread every
FLUSH_SECONDS, and at once on `SYSTEM FLUSH LOGS`, as ClickHouse does.

Only the admin reads them: warehouse/access.py lets a non-admin read no `system` table but a few harmless ones,
so one user's query text never reaches another.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

log = logging.getLogger("pulse.warehouse")

FLUSH_SECONDS = 0.5
QUERY_CUT_TO_LENGTH = 100_000  # ClickHouse's log_queries_cut_to_length
_KEEP = "SETTINGS max_rows_to_keep = 100000, max_bytes_to_keep = 268435456"
_TIME = "event_date Date, event_time DateTime, event_time_microseconds DateTime64(6)"
TABLES = {
    "query_log": f"""(
        type Enum8('QueryStart' = 1, 'QueryFinish' = 2, 'ExceptionBeforeStart' = 3, 'ExceptionWhileProcessing' = 4),
        {_TIME}, query_start_time DateTime, query_start_time_microseconds DateTime64(6), query_duration_ms UInt64,
        read_rows UInt64, read_bytes UInt64, written_rows UInt64, written_bytes UInt64, result_rows UInt64,
        result_bytes UInt64, current_database String, query String, query_kind LowCardinality(String),
        exception_code Int32, exception String, user String, query_id String, initial_user String,
        initial_query_id String, is_initial_query UInt8, interface UInt8, http_method UInt8,
        http_user_agent String, session_id String
    ) ENGINE = Memory {_KEEP}""",
    "session_log": f"""(
        type Enum8('LoginFailure' = 0, 'LoginSuccess' = 1, 'Logout' = 2), {_TIME}, session_id String,
        user String, interface Enum8('TCP' = 1, 'HTTP' = 2), client_address String, failure_reason String
    ) ENGINE = Memory {_KEEP}""",
}
_SUMMARY = ("read_rows", "read_bytes", "written_rows", "written_bytes", "result_rows", "result_bytes")


@dataclass
class QueryRecord:
    """One query being run: its QueryStart row is written when it begins, the end row when it ends."""

    query_id: str
    user: str
    query: str
    kind: str
    method: str
    user_agent: str
    session_id: str
    started: float = field(default_factory=time.time)
    database: str = "default"
    summary: dict[str, int] | None = None


class ServerLog:
    """Collects log rows and writes them in batches over its own engine connection."""

    def __init__(self, connection: Any, timezone: str, flush_seconds: float = FLUSH_SECONDS) -> None:
        self._conn = connection
        self._tz = ZoneInfo(timezone)
        self._pending: dict[str, list[dict[str, object]]] = {name: [] for name in TABLES}
        self._lock = threading.Lock()  # the pending rows
        self._write_lock = threading.Lock()  # the connection
        self._stop = threading.Event()
        self._create_tables()
        self._thread = threading.Thread(target=self._run, args=(flush_seconds,), name="server-log", daemon=True)
        self._thread.start()

    def _create_tables(self) -> None:
        for name, definition in TABLES.items():
            self._conn.query(f"CREATE TABLE IF NOT EXISTS system.{name} {definition}")

    # -- rows ------------------------------------------------------------------------------------------
    def _times(self, when: float, prefix: str = "event_") -> dict[str, object]:
        """The columns of one moment, in the server's time zone (the columns' own)."""
        moment = dt.datetime.fromtimestamp(when, self._tz)
        times: dict[str, object] = {
            f"{prefix}time": moment.strftime("%Y-%m-%d %H:%M:%S"),
            f"{prefix}time_microseconds": moment.strftime("%Y-%m-%d %H:%M:%S.%f"),
        }
        if prefix == "event_":
            times["event_date"] = moment.strftime("%Y-%m-%d")
        return times

    def _add(self, table: str, row: dict[str, object]) -> None:
        with self._lock:
            self._pending[table].append(row)

    def _query_row(
        self, record: QueryRecord, kind: str, now: float, error: BaseException | None = None
    ) -> dict[str, object]:
        summary = record.summary or {}
        return {
            "type": kind,
            **self._times(now),
            **self._times(record.started, "query_start_"),
            "query_duration_ms": int((now - record.started) * 1000) if kind != "QueryStart" else 0,
            **{key: summary.get(key, 0) for key in _SUMMARY},
            "current_database": record.database,
            # Bytes that are no UTF-8 (kept as surrogate escapes) become U+FFFD: the log is text.
            "query": record.query[:QUERY_CUT_TO_LENGTH].encode(errors="surrogateescape").decode(errors="replace"),
            "query_kind": record.kind.capitalize(),
            "exception_code": int(getattr(error, "code", 0)),
            "exception": _exception_text(error),
            "user": record.user,
            "query_id": record.query_id,
            "initial_user": record.user,
            "initial_query_id": record.query_id,
            "is_initial_query": 1,
            "interface": 2,  # HTTP
            "http_method": {"GET": 1, "POST": 2}.get(record.method, 0),
            "http_user_agent": record.user_agent,
            "session_id": record.session_id,
        }

    @contextlib.contextmanager
    def query(self, record: QueryRecord) -> Iterator[QueryRecord]:
        """Log the query's start now, and its end (finish or exception) when the block ends."""
        self._add("query_log", self._query_row(record, "QueryStart", record.started))
        try:
            yield record
        except BaseException as exc:
            self._add("query_log", self._query_row(record, "ExceptionWhileProcessing", time.time(), exc))
            raise
        self._add("query_log", self._query_row(record, "QueryFinish", time.time()))

    def session(self, kind: str, session_id: str, user: str, client: str = "", reason: str = "") -> None:
        """A LoginSuccess, LoginFailure or Logout."""
        row: dict[str, object] = {"type": kind, **self._times(time.time()), "session_id": session_id, "user": user}
        self._add("session_log", row | {"interface": "HTTP", "client_address": client, "failure_reason": reason})

    # -- writing ---------------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write every pending row now (`SYSTEM FLUSH LOGS`, and the thread's timer)."""
        with self._write_lock:
            with self._lock:
                batches = {name: rows for name, rows in self._pending.items() if rows}
                self._pending = {name: [] for name in TABLES}
            for name, rows in batches.items():
                data = "\n".join(json.dumps(row, ensure_ascii=False) for row in rows)
                try:
                    self._conn.query(f"INSERT INTO system.{name} FORMAT JSONEachRow\n{data}")
                except Exception:
                    # Dropped or truncated by the admin: put the table back for the next rows; these are lost.
                    log.warning("could not write %d rows to system.%s", len(rows), name, exc_info=True)
                    with contextlib.suppress(Exception):
                        self._create_tables()

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.flush()
        with contextlib.suppress(Exception):
            self._conn.close()


def _exception_text(error: BaseException | None) -> str:
    """As ClickHouse words it (`Code: N. DB::Exception: ...`) for its own errors; else the error's type and text."""
    if error is None:
        return ""
    body = getattr(error, "body", None)
    if callable(body):
        return str(body().decode().strip())
    return f"{type(error).__name__}: {error}"
