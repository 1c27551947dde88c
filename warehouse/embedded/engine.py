"""The one owner of the chdb data directory: connections, sessions, per-query settings, cancellation.

chdb lets only one process open a data directory, but inside that process every `chdb.connect(path)` is
its own ClickHouse session (current database, settings, temporary tables) and queries on different
connections run in parallel (chdb releases the GIL). So:

- an HTTP session (`session_id`) owns one connection for its lifetime and expires when idle;
- requests without a session borrow a pooled connection of their user and give it back clean;
- settings passed with a request apply to that request only: the connection remembers which settings it
  changed and what they were before, and puts them back when the next request does not ask for them
  (consecutive requests with the same settings, the normal case, cost no extra statement).
"""

from __future__ import annotations

import collections
import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chdb

from pulse.core.settings import WarehouseUser
from warehouse import access
from warehouse.embedded.query_log import ServerLog
from warehouse.errors import ClickHouseError, auth_failed
from warehouse.sql_split import as_scanned, leading_words

log = logging.getLogger("pulse.warehouse")

# Statements a non-admin user was allowed to run, so a dashboard re-running its queries is parsed once.
ALLOWED_CACHE_SIZE = 4096
# A session's next request can come on a new connection while the last one is still noticing that its client
# stopped reading a streamed response: a request finding its session busy waits this long before it is refused.
SESSION_RELEASE_GRACE_SECONDS = 0.5
# A request that has answered its client may still be tidying up on the session's connection (dropping its
# external tables, noting a USE). The client's next request is not concurrent with it: that one waits up to this.
SESSION_TIDY_UP_SECONDS = 30.0


def quote_value(value: str) -> str:
    """A string literal. Settings are set from one too: ClickHouse takes a URL's settings as strings and parses
    each as its setting's type, and so does `SET x = '...'`; a bare number would be a UInt64, which a String
    setting (insert_deduplication_token = 10381) refuses with BAD_GET."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def engine_sql(sql: str) -> str | bytes:
    """The statement as the engine takes it. A statement may hold bytes that are no UTF-8 (a heredoc of Parquet
    that clickhouse-connect binds in the query): the server keeps them as surrogate escapes, and the engine,
    which also takes bytes, gets them back as they came."""
    if sql.isascii():
        return sql
    try:
        sql.encode()
    except UnicodeEncodeError:
        return sql.encode("utf-8", "surrogateescape")
    return sql


def quote_identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def changes_session_state(sql: str) -> bool:
    """SET, USE and CREATE TEMPORARY TABLE change the connection they run on. Their first words as ClickHouse's
    lexer reads them (after any comment, `//` and `#` ones and nested ones too, and Unicode blanks)."""
    words = leading_words(as_scanned(sql), 2)
    return words[:1] in (["SET"], ["USE"]) or words == ["CREATE", "TEMPORARY"]


@dataclass
class EngineConnection:
    """One chdb connection and what Pulse changed on it."""

    raw: Any
    user: str
    readonly: bool
    database: str | None = "default"
    # Where a request that names no database runs: `default`, or what the session last USEd. A request's
    # `database` parameter applies to that request only (ClickHouse sets it on the query's context).
    home_database: str = "default"
    # setting -> (value we set, value to restore or None for DEFAULT)
    overrides: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    broken: bool = False
    # The request holding the connection has started its final answer: the client may already be sending its next.
    answered: bool = False

    def query(self, sql: str, fmt: str = "TSV", params: dict[str, str] | None = None) -> Any:
        try:
            return self.raw.query(engine_sql(sql), fmt, params=params or None)
        except Exception as exc:
            raise ClickHouseError.from_engine(exc) from None

    def prepare(self, database: str | None, settings: dict[str, str]) -> None:
        """Make the connection's database and settings what this request asks for."""
        if database is not None and database != self.database:
            self.query(f"USE {quote_identifier(database)}")
            self.database = database
        assignments: list[str] = []
        for name, (_, previous) in list(self.overrides.items()):
            if name not in settings:
                assignments.append(f"{name} = {'DEFAULT' if previous is None else quote_value(previous)}")
                del self.overrides[name]
        wanted = {k: v for k, v in settings.items() if self.overrides.get(k, ("\0",))[0] != v}
        first_time = [k for k in wanted if k not in self.overrides]
        if first_time:
            names = ", ".join(quote_value(k) for k in first_time)
            rows = self.query(f"SELECT name, value, changed FROM system.settings WHERE name IN ({names})", "TSV")
            before = {}
            for line in rows.bytes().decode().splitlines():
                name, value, changed = line.split("\t")
                before[name] = value if changed == "1" else None
            for name in first_time:
                self.overrides[name] = ("", before.get(name))
        for name, value in wanted.items():
            assignments.append(f"{name} = {quote_value(value)}")
            self.overrides[name] = (value, self.overrides[name][1])
        if assignments:
            try:
                self.query("SET " + ", ".join(assignments))
            except ClickHouseError:
                self.broken = True  # we no longer know its state: never reuse it
                raise

    def adopt_current_database(self) -> None:
        """After the client's own USE: its database becomes the session's, for the requests that name none."""
        current = self.query("SELECT currentDatabase()", "TSV").bytes().decode().strip()
        self.database = self.home_database = current

    def reset_overrides(self) -> None:
        """Put back every per-request setting (before a client's own SET becomes the session's baseline)."""
        self.prepare(None, {})

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.raw.close()


@dataclass
class Session:
    connection: EngineConnection
    timeout: float
    last_used: float
    lock: threading.Lock = field(default_factory=threading.Lock)


class Engine:
    def __init__(
        self,
        path: Path,
        accounts: Callable[[str], WarehouseUser | None],
        max_concurrent_queries: int = 32,
        default_session_timeout: int = 60,
        max_session_timeout: int = 3600,
        queue_wait_seconds: float = 10.0,
    ) -> None:
        self.path = path
        self._accounts = functools.lru_cache(maxsize=4096)(accounts)
        self.default_session_timeout = default_session_timeout
        self.max_session_timeout = max_session_timeout
        self.queue_wait_seconds = queue_wait_seconds
        self.max_concurrent_queries = max_concurrent_queries
        self._slots = threading.BoundedSemaphore(max_concurrent_queries)
        self._lock = threading.Lock()
        self._pools: dict[tuple[str, bool], list[EngineConnection]] = {}
        self._sessions: dict[tuple[str, str], Session] = {}
        self._running_ids: set[str] = set()
        self._allowed: collections.OrderedDict[tuple[object, ...], None] = collections.OrderedDict()
        self._closed = threading.Event()
        path.mkdir(parents=True, exist_ok=True)
        self._admin = self._connect("default", readonly=False)
        version = self._admin.query("SELECT version(), timezone()", "TSV").bytes().decode().strip()
        self.version, self.timezone = version.split("\t")
        rows = self._admin.query("SELECT name, value FROM system.settings", "TSV").bytes().decode().splitlines()
        self._defaults = dict(line.split("\t", 1) for line in rows)
        self.known_settings = frozenset(self._defaults)
        self.log = ServerLog(chdb.connect(str(path)), self.timezone)
        self._admin_lock = threading.Lock()
        self._sweeper = threading.Thread(target=self._expire_sessions, name="session-sweeper", daemon=True)
        self._sweeper.start()

    def default_setting(self, name: str) -> str:
        return self._defaults.get(name, "")

    # -- connections ---------------------------------------------------------------------------------
    def _connect(self, user: str, readonly: bool) -> EngineConnection:
        raw = chdb.connect(str(self.path))
        conn = EngineConnection(raw=raw, user=user, readonly=readonly)
        if readonly:
            # readonly=2: reads, and per-query settings, but no writes and no way back to writing.
            conn.query("SET readonly = 2")
        return conn

    def authenticate(self, user: str, password: str) -> WarehouseUser:
        account = self._accounts(user)
        if account is None or not account.check(password):
            self.log.session("LoginFailure", "", user, reason="Authentication failed")
            raise auth_failed(user)
        return account

    def check_access(
        self, conn: EngineConnection, account: WarehouseUser, sql: str, params: dict[str, str] | None
    ) -> None:
        """Refuse what the account may not run, on the engine's own parse of the statement (warehouse/access.py)."""
        if account.admin:
            return
        grant, database = access.grant_of(account), conn.database or "default"
        key = (grant, database, sql, tuple(sorted((params or {}).items())))
        with self._lock:
            if key in self._allowed:
                self._allowed.move_to_end(key)
                return
        if ";" in sql:
            # chdb runs every statement of a query (clickhouse-local's multi-query), the EXPLAIN below included:
            # a second statement that the server's tokenizer missed would run unchecked. The engine's own parser
            # says whether there is one (formatQuery refuses multi-statements), given the exact bytes.
            text = engine_sql(sql)
            hexed = (text if isinstance(text, bytes) else text.encode()).hex()
            try:
                conn.query(f"SELECT length(formatQuerySingleLine(unhex('{hexed}')))", "TSV")
            except ClickHouseError as err:
                if "Multi-statements" in err.message:
                    raise ClickHouseError("SYNTAX_ERROR", "Syntax error: Multi-statements are not allowed") from None
                raise
        # A literal of bytes that are no UTF-8 comes back as it went: it names nothing the check looks at.
        tree = access.parse_ast(conn.query(f"EXPLAIN AST {sql}", "TSV", params).bytes().decode(errors="replace"))
        cacheable = True

        def exists(db: str, table: str) -> bool:
            nonlocal cacheable
            found = conn.query(
                "SELECT 1 FROM system.tables WHERE database = {d:String} AND name = {t:String}",
                "TSV",
                {"d": db, "t": table},
            )
            present = bool(found.bytes().strip())
            cacheable = cacheable and present
            return present

        access.check(tree, grant, database, exists)
        # An allowed statement stays allowed while its grant, database and text do — unless it named something
        # that was no table when checked (a CTE, or a table created later under that name): that is checked anew.
        if cacheable:
            with self._lock:
                self._allowed[key] = None
                if len(self._allowed) > ALLOWED_CACHE_SIZE:
                    self._allowed.popitem(last=False)

    @contextlib.contextmanager
    def connection(
        self,
        user: str,
        readonly: bool,
        session_id: str | None = None,
        session_timeout: int | None = None,
        session_check: bool = False,
    ) -> Iterator[EngineConnection]:
        """Borrow the connection for one request: the session's, or a pooled one."""
        if self._closed.is_set():
            raise ClickHouseError("ABORTED", "Server is shutting down")
        if not self._slots.acquire(timeout=self.queue_wait_seconds):
            raise ClickHouseError(
                "TOO_MANY_SIMULTANEOUS_QUERIES",
                f"Too many simultaneous queries. Maximum: {self.max_concurrent_queries}",
            )
        try:
            if session_id:
                with self._session(user, readonly, session_id, session_timeout, session_check) as conn:
                    yield conn
            else:
                conn = self._borrow(user, readonly)
                try:
                    yield conn
                finally:
                    self._give_back(conn)
        finally:
            self._slots.release()

    def _borrow(self, user: str, readonly: bool) -> EngineConnection:
        with self._lock:
            pool = self._pools.setdefault((user, readonly), [])
            if pool:
                return pool.pop()
        return self._connect(user, readonly)

    def _give_back(self, conn: EngineConnection) -> None:
        if conn.broken or self._closed.is_set():
            conn.close()
            return
        with self._lock:
            self._pools.setdefault((conn.user, conn.readonly), []).append(conn)

    @contextlib.contextmanager
    def _session(
        self, user: str, readonly: bool, session_id: str, timeout: int | None, check: bool
    ) -> Iterator[EngineConnection]:
        if timeout is not None and not 0 < timeout <= self.max_session_timeout:
            raise ClickHouseError(
                "BAD_ARGUMENTS",
                f"Session timeout must be in (0, {self.max_session_timeout}] seconds, got {timeout}",
            )
        key = (user, session_id)
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                if check:
                    raise ClickHouseError("SESSION_NOT_FOUND", f"Session {session_id} not found")
                session = Session(
                    connection=self._connect(user, readonly),
                    timeout=float(timeout or self.default_session_timeout),
                    last_used=time.monotonic(),
                )
                self._sessions[key] = session
                self.log.session("LoginSuccess", session_id, user)
            elif timeout is not None:
                session.timeout = float(timeout)
        # As ClickHouse: a session runs one query at a time and refuses a concurrent one (no queue). No supported
        # client shares a session between threads (dbt-clickhouse and clickhouse-connect's SQLAlchemy and DB-API
        # connections each have their own), and clickhouse-connect tells its users to expect this error. A request
        # whose predecessor has already answered is the client's next one, not a concurrent one: it waits.
        if not session.lock.acquire(timeout=SESSION_RELEASE_GRACE_SECONDS) and not (
            session.connection.answered and session.lock.acquire(timeout=SESSION_TIDY_UP_SECONDS)
        ):
            raise ClickHouseError("SESSION_IS_LOCKED", f"Session {session_id} is locked by a concurrent client")
        session.connection.answered = False
        try:
            yield session.connection
        finally:
            session.last_used = time.monotonic()
            session.lock.release()
            if session.connection.broken:
                self._drop_session(key)

    def _drop_session(self, key: tuple[str, str]) -> None:
        with self._lock:
            session = self._sessions.pop(key, None)
        if session is not None:
            session.connection.close()
            self.log.session("Logout", key[1], key[0])

    def _expire_sessions(self) -> None:
        while not self._closed.wait(1.0):
            now = time.monotonic()
            with self._lock:
                idle = [
                    key for key, s in self._sessions.items() if now - s.last_used > s.timeout and not s.lock.locked()
                ]
            for key in idle:
                log.debug("session %s expired", key[1])
                self._drop_session(key)

    def session_count(self) -> int:
        with self._lock:
            return len(self._sessions)

    # -- running queries -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def query_id(self, query_id: str) -> Iterator[None]:
        with self._lock:
            if query_id in self._running_ids:
                raise ClickHouseError(
                    "QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING",
                    f"Query with id = {query_id} is already running.",
                )
            self._running_ids.add(query_id)
        try:
            yield
        finally:
            with self._lock:
                self._running_ids.discard(query_id)

    def kill(self, tag: str) -> None:
        """Cancel the running query whose text carries `tag` (its client went away)."""
        with self._admin_lock, contextlib.suppress(ClickHouseError):
            self._admin.query(f"KILL QUERY WHERE position(query, {quote_value(tag)}) > 0 ASYNC")

    def running_queries(self) -> int:
        with self._lock:
            return len(self._running_ids)

    def close(self, wait_seconds: float = 30.0) -> None:
        """Refuse new queries, wait for the running ones, then close every connection."""
        self._closed.set()
        deadline = time.monotonic() + wait_seconds
        while self.running_queries() and time.monotonic() < deadline:
            time.sleep(0.05)
        with self._lock:
            conns = [c for pool in self._pools.values() for c in pool]
            conns += [s.connection for s in self._sessions.values()]
            self._pools.clear()
            self._sessions.clear()
        for conn in conns:
            conn.close()
        self.log.close()
        self._admin.close()
