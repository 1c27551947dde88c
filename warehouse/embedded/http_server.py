"""ClickHouse's HTTP interface, served over the embedded engine.

Unmodified ClickHouse clients (clickhouse-connect, dbt-clickhouse, Superset, curl) talk to this exactly as
to a ClickHouse server: query in `query=` or the body, inserts streamed from the body in any input format,
compressed bodies, per-request settings and parameters, sessions, streamed results, ClickHouse's headers
and error format.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import re
import secrets
import select
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO
from urllib.parse import parse_qsl, urlsplit

from pulse.core.settings import WarehouseUser
from warehouse.access import PROTECTED_SETTINGS, denied, grant_of, read_only
from warehouse.embedded.codecs import choose_response_encoding, decoder_for, encoder_for
from warehouse.embedded.engine import (
    Engine,
    EngineConnection,
    changes_session_state,
    engine_sql,
    quote_identifier,
)
from warehouse.embedded.external_data import ExternalTable, is_multipart, read_form
from warehouse.embedded.insert_feed import as_stream, read_ahead
from warehouse.embedded.output import content_type, empty_result_is_empty, engine_format, shape_stream, streaming_mode
from warehouse.embedded.query_log import QueryRecord
from warehouse.errors import ClickHouseError
from warehouse.sql_split import NeedMoreText, SqlSplitError, Statement, split_statement, statement_follows

log = logging.getLogger("pulse.warehouse")

# URL parameters the HTTP layer consumes itself; they never reach the engine as settings.
HTTP_PARAMETERS = frozenset(
    {
        "query", "database", "default_format", "session_id", "session_timeout", "session_check", "query_id",
        "user", "password", "quota_key", "compress", "decompress", "buffer_size", "wait_end_of_query",
        "client_protocol_version", "enable_http_compression", "http_zlib_compression_level",
        "send_progress_in_http_headers", "http_headers_progress_interval_ms", "http_response_buffer_size",
        "role", "stacktrace", "cancel_http_readonly_queries_on_client_close", "readonly",
        "http_native_compression_disable_checksumming_on_decompress", "add_http_cors_header",
        "http_wait_end_of_query", "max_query_size_http",
    }
)  # fmt: skip
READ_ONLY_KINDS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN", "SET", "USE", ""})
STREAMED_KINDS = frozenset({"SELECT", "WITH"})
_FLUSH_LOGS = re.compile(r"SYSTEM\s+FLUSH\s+LOGS\b", re.I)
MAX_QUERY_BYTES = 16 * 1024 * 1024  # the statement part; data after FORMAT is streamed and not limited here
READ_SIZE = 1 << 20
BODY_READ_SIZE = 4 << 20
SPOOL_BYTES = 32 * 1024 * 1024
DRAIN_BYTES = 64 * 1024 * 1024
# A multipart form (external data, or a query with big parameters) is held in memory to hand its parts to the
# engine, where ClickHouse streams them; parsing one takes about ten times its size (the email module's copies).
MAX_FORM_BYTES = 2 * MAX_QUERY_BYTES
_DIGITS = re.compile(r"[0-9]{1,19}")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("1", "true", "yes", "on")


class BodyReader:
    """The request body, de-chunked and decompressed, read in pieces, with a size limit."""

    def __init__(self, rfile: io.BufferedIOBase, headers: Any, max_bytes: int) -> None:
        self._rfile = rfile
        self._chunked = "chunked" in (headers.get("Transfer-Encoding") or "").lower()
        self._max = max_bytes
        self._raw_read = 0
        self._chunk_left = 0
        self.received = False  # every byte of the body is off the wire (more decoded output may still follow)
        self.clean = True  # False when the connection's byte stream can no longer be trusted
        length = headers.get("Content-Length")
        self._remaining = 0
        if not self._chunked:
            # Digits only: int() also takes "-1" (a read to the end of the stream, whatever the limit), "+1",
            # "1_0" and blanks.
            if not _DIGITS.fullmatch(length or "0"):
                self.clean = False
                raise ClickHouseError("BAD_ARGUMENTS", f"Invalid Content-Length: {length!r}")
            self._remaining = int(length or 0)
            self.received = self._remaining == 0
        self._decoder = decoder_for(headers.get("Content-Encoding"))

    @property
    def exhausted(self) -> bool:
        """Nothing more to read: the body is received and decoded to its end."""
        return self.received and not self._decoder.pending

    def check_declared_size(self) -> None:
        if self._remaining > self._max:
            raise ClickHouseError(
                "QUERY_IS_TOO_LARGE",
                f"Request body of {self._remaining} bytes exceeds the limit of {self._max}",
            )

    def _raw(self, size: int) -> bytes:
        if self._chunked:
            if self._chunk_left == 0:
                line = self._rfile.readline(1024)
                if not line:
                    self.clean = False
                    raise ClickHouseError("CANNOT_READ_ALL_DATA", "Unexpected end of chunked request body")
                declared = line.split(b";")[0].strip()
                if not _CHUNK_SIZE.fullmatch(declared):  # as Content-Length: no sign, no "0x", no "_"
                    self.clean = False
                    raise ClickHouseError("BAD_ARGUMENTS", "Malformed chunked request body")
                self._chunk_left = int(declared, 16)
                if self._chunk_left == 0:
                    while self._rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    self.received = True
                    return b""
            data = self._rfile.read(min(size, self._chunk_left))
            self._chunk_left -= len(data)
            if not data:
                self.clean = False
                raise ClickHouseError("CANNOT_READ_ALL_DATA", "Unexpected end of chunked request body")
            if self._chunk_left == 0:
                self._rfile.readline(16)  # CRLF after the chunk
        else:
            data = self._rfile.read(min(size, self._remaining))
            if len(data) == 0 and self._remaining:
                self.clean = False
                raise ClickHouseError(
                    "CANNOT_READ_ALL_DATA",
                    f"Request body ended {self._remaining} bytes before its Content-Length",
                )
            self._remaining -= len(data)
            self.received = self._remaining == 0
        self._raw_read += len(data)
        if self._raw_read > self._max:
            raise ClickHouseError("QUERY_IS_TOO_LARGE", f"Request body exceeds the limit of {self._max} bytes")
        return data

    def read(self, size: int = BODY_READ_SIZE) -> bytes:
        """At most `size` decoded bytes; b"" only at the end of the body (then the compressed stream is
        checked whole)."""
        while True:
            if self._decoder.pending:
                out = self._decoder.decode(b"", size)
            elif not self.received:
                out = self._decoder.decode(self._raw(size), size)
            else:
                out = b""
            if self.exhausted:
                self._decoder.finish()  # a body cut inside a frame is refused before its last piece is used
                return out
            if out:
                return out

    def read_all(self, limit: int) -> bytes:
        """The whole decoded body, refused once it exceeds `limit` bytes (decoded, whatever it was compressed
        to on the wire)."""
        parts = []
        size = 0
        while chunk := self.read(min(BODY_READ_SIZE, limit - size + 1)):
            size += len(chunk)
            if size > limit:
                raise ClickHouseError("QUERY_IS_TOO_LARGE", f"Decompressed request body exceeds {limit} bytes")
            parts.append(chunk)
        return b"".join(parts)

    def drain(self, limit: int = DRAIN_BYTES) -> None:
        """Read and drop the rest of the body (up to `limit` bytes), so the client sees our answer and
        the connection can serve its next request; past the limit, the connection is closed instead."""
        self._max = self._raw_read + limit
        try:
            while not self.received:
                self._raw(READ_SIZE)
        except (ClickHouseError, OSError):  # OSError: the client reset the connection, or it timed out
            self.clean = False


class DisconnectWatcher:
    """Cancels queries whose client closed the connection while the engine was busy."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._watched: dict[int, tuple[socket.socket, str]] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._run, name="disconnect-watcher", daemon=True).start()

    @contextlib.contextmanager
    def watch(self, sock: socket.socket, tag: str) -> Iterator[None]:
        key = id(sock)
        with self._lock:
            self._watched[key] = (sock, tag)
        try:
            yield
        finally:
            with self._lock:
                self._watched.pop(key, None)

    def _run(self) -> None:
        while True:
            time.sleep(0.2)
            with self._lock:
                watched = list(self._watched.values())
            if not watched:
                continue
            try:
                readable, _, _ = select.select([s for s, _ in watched], [], [], 0)
            except (OSError, ValueError):
                continue
            for sock, tag in watched:
                if sock in readable:
                    try:
                        gone = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
                    except BlockingIOError:
                        gone = False
                    except OSError:
                        gone = True
                    if gone:
                        log.info("client went away: cancelling its query")
                        self._engine.kill(tag)


@dataclass
class Request:
    """What one HTTP request asks for, after the URL and headers are read."""

    params: dict[str, str]
    user: str
    password: str
    query_id: str
    database: str | None
    default_format: str
    session_id: str | None
    session_timeout: int | None
    session_check: bool
    readonly: bool
    wait_end_of_query: bool
    compression: str | None
    compression_level: int
    settings: dict[str, str] = field(default_factory=dict)
    query_params: dict[str, str] = field(default_factory=dict)
    external: list[ExternalTable] = field(default_factory=list)
    account: WarehouseUser | None = None


class ResponseWriter:
    """Writes one response: whole (Content-Length) or streamed (chunked, compressed, with exception tag)."""

    def __init__(self, handler: ClickHouseHandler, request: Request | None) -> None:
        self.handler = handler
        self.request = request
        self.headers_sent = False
        self.exception_tag = secrets.token_hex(8)
        self.connection: EngineConnection | None = None  # the engine connection the answer comes from
        self._encoder = encoder_for(request.compression if request else None,
                                    request.compression_level if request else 3)  # fmt: skip

    def _common_headers(self, fmt: str | None, summary: dict[str, int] | None) -> None:
        h = self.handler
        server: ClickHouseServer = h.server  # type: ignore[assignment]
        if self.request is not None:
            h.send_header("X-ClickHouse-Query-Id", self.request.query_id)
        h.send_header("X-ClickHouse-Timezone", server.engine.timezone)
        h.send_header("X-ClickHouse-Server-Display-Name", "pulse-warehouse")
        if fmt:
            h.send_header("X-ClickHouse-Format", fmt)
            h.send_header("Content-Type", content_type(fmt))
        else:
            h.send_header("Content-Type", "text/plain; charset=UTF-8")
        stats = summary or {}
        h.send_header("X-ClickHouse-Summary", json.dumps({k: str(stats.get(k, 0)) for k in _SUMMARY_KEYS}))
        if h.close_connection:
            h.send_header("Connection", "close")
        else:
            h.send_header("Keep-Alive", "timeout=30")

    def whole(self, body: bytes | BinaryIO, fmt: str | None, summary: dict[str, int] | None, size: int) -> None:
        """Send a complete body (bytes or a spooled file of `size` bytes)."""
        self._answering()
        h = self.handler
        compressed: bytes | None = None
        encoding = self.request.compression if self.request else None
        if encoding:
            raw = body if isinstance(body, bytes) else body.read()
            compressed = self._encoder.encode(raw) + self._encoder.finish()
            size = len(compressed)
        h.send_response(200)
        self._common_headers(fmt, summary)
        if encoding:
            h.send_header("Content-Encoding", encoding)
        h.send_header("Content-Length", str(size))
        h.end_headers()
        self.headers_sent = True
        if compressed is not None:
            h.wfile.write(compressed)
        elif isinstance(body, bytes):
            h.wfile.write(body)
        else:
            while block := body.read(READ_SIZE):
                h.wfile.write(block)

    def stream(self, chunks: Iterator[bytes], fmt: str, summary: dict[str, int] | None) -> None:
        h = self.handler
        h.send_response(200)
        self._common_headers(fmt, summary)
        if self.request and self.request.compression:
            h.send_header("Content-Encoding", self.request.compression)
        h.send_header("Transfer-Encoding", "chunked")
        h.send_header("X-ClickHouse-Exception-Tag", self.exception_tag)
        h.end_headers()
        self.headers_sent = True
        try:
            for chunk in chunks:
                self._chunk(self._encoder.encode(chunk))
        except ClickHouseError as err:
            # Mid-stream: the status is already 200, so the error goes in the body, tagged, as ClickHouse does.
            message = err.body(self.handler.server.engine.version).decode().rstrip("\n")  # type: ignore[attr-defined]
            block = (
                f"__exception__\r\n{self.exception_tag}\r\n{message}\n"
                f"{len(message)} {self.exception_tag}\r\n__exception__\r\n"
            ).encode()
            self._chunk(self._encoder.encode(block))
            h.close_connection = True
        self._answering()
        self._chunk(self._encoder.finish())
        h.wfile.write(b"0\r\n\r\n")

    def _answering(self) -> None:
        """Before the answer's last bytes: once the client has them it may send its session's next request."""
        if self.connection is not None:
            self.connection.answered = True

    def _chunk(self, data: bytes) -> None:
        if data:
            self.handler.wfile.write(b"%X\r\n%b\r\n" % (len(data), data))

    def error(self, err: ClickHouseError) -> None:
        h = self.handler
        body = err.body(h.server.engine.version)  # type: ignore[attr-defined]
        h.send_response(err.http_status)
        h.send_header("X-ClickHouse-Exception-Code", str(err.code))
        self._common_headers(None, None)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        self.headers_sent = True
        h.wfile.write(body)


_SUMMARY_KEYS = (
    "read_rows", "read_bytes", "written_rows", "written_bytes", "total_rows_to_read", "result_rows",
    "result_bytes", "elapsed_ns",
)  # fmt: skip


class ClickHouseHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and the client's
    # delayed ACK add ~40 ms to every small response.
    disable_nagle_algorithm = True
    server_version = "pulse-warehouse"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        # Never the URL: it may carry a password. Method and status are enough at debug level.
        log.debug("%s %s", self.command, args[1] if len(args) > 1 else "")

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_OPTIONS(self) -> None:
        self.send_response(204)
        self.send_header("Allow", "GET, POST, OPTIONS")
        self.send_header("Content-Length", "0")
        self.end_headers()

    # -- one request -----------------------------------------------------------------------------------
    def _handle(self) -> None:
        server: ClickHouseServer = self.server  # type: ignore[assignment]
        url = urlsplit(self.path)
        if url.path in ("/ping", "/replicas_status"):
            self._plain(200, b"Ok.\n")
            return
        if url.path not in ("/", "/query"):
            self._plain(404, f"There is no handle {url.path}\n\nUse / or /ping for health checks.\n".encode())
            return
        with server.tracking():
            if server.draining:
                self.close_connection = True
            self._run_query(server, url.query)

    def _plain(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _run_query(self, server: ClickHouseServer, query_string: str) -> None:
        request: Request | None = None
        body: BodyReader | None = None
        writer = ResponseWriter(self, None)
        try:
            body = BodyReader(self.rfile, self.headers, server.max_body_bytes)
            body.check_declared_size()
            params = dict(parse_qsl(query_string, keep_blank_values=True))
            external: list[ExternalTable] = []
            if is_multipart(self.headers.get("Content-Type")):
                # As ClickHouse: credentials come from the headers or the URL, and nobody unauthenticated gets
                # the server to read (and decompress) a whole form into memory.
                server.engine.authenticate(*self._credentials(params))
                external = read_form(self.headers["Content-Type"], body.read_all(MAX_FORM_BYTES), params)
            request = self._parse_request(server, params)
            request.external = external
            writer = ResponseWriter(self, request)
            request.account = server.engine.authenticate(request.user, request.password)
            self._apply_grant(request)
            with server.engine.query_id(request.query_id):
                self._execute(server, request, body, writer)
        except ClickHouseError as err:
            self._fail(writer, err, body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # an engine or server bug must still answer as ClickHouse would
            log.exception("unexpected error")
            self._fail(writer, ClickHouseError("UNKNOWN_EXCEPTION", f"{type(exc).__name__}: {exc}"), body)
        finally:
            if body is None or not body.clean or not body.received:
                self.close_connection = True

    def _fail(self, writer: ResponseWriter, err: ClickHouseError, body: BodyReader | None) -> None:
        if writer.headers_sent:
            self.close_connection = True
            return
        if body is None:  # the request line or headers were unusable: no way to find the next request
            self.close_connection = True
        elif not body.received and body.clean:
            body.drain()
        if body is not None and (not body.clean or not body.received):
            self.close_connection = True
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            writer.error(err)

    def _credentials(self, params: dict[str, str]) -> tuple[str, str]:
        auth = self.headers.get("Authorization") or ""
        if auth.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(auth[6:].strip()).decode().partition(":")
            except ValueError:
                raise ClickHouseError("AUTHENTICATION_FAILED", "Malformed Basic authorization header") from None
            return user or "default", password
        if self.headers.get("X-ClickHouse-User"):
            return self.headers["X-ClickHouse-User"], self.headers.get("X-ClickHouse-Key") or ""
        return params.get("user") or "default", params.get("password") or ""

    def _parse_request(self, server: ClickHouseServer, params: dict[str, str]) -> Request:
        user, password = self._credentials(params)
        settings: dict[str, str] = {}
        query_params: dict[str, str] = {}
        for name, value in params.items():
            if name.startswith("param_"):
                query_params[name[6:]] = value
            elif name in HTTP_PARAMETERS:
                continue
            elif name in server.engine.known_settings:
                settings[name] = value
            else:
                raise ClickHouseError("UNKNOWN_SETTING", f"Unknown setting '{name}'")
        timeout = params.get("session_timeout")
        try:
            session_timeout = int(timeout) if timeout else None
            level = int(params.get("http_zlib_compression_level") or 3)
        except ValueError:
            raise ClickHouseError("BAD_ARGUMENTS", "session_timeout and compression level must be integers") from None
        compression = None
        # The engine's default decides when the client does not say (ClickHouse 26.9: on).
        if _truthy(params.get("enable_http_compression", server.engine.default_setting("enable_http_compression"))):
            compression = choose_response_encoding(self.headers.get("Accept-Encoding"))
        readonly = params.get("readonly", "0") not in ("", "0")
        return Request(
            params=params,
            user=user,
            password=password,
            query_id=params.get("query_id") or str(uuid.uuid4()),
            database=params.get("database") or None,
            default_format=params.get("default_format") or "TabSeparated",
            session_id=params.get("session_id") or None,
            session_timeout=session_timeout,
            session_check=_truthy(params.get("session_check")),
            readonly=readonly,
            wait_end_of_query=_truthy(params.get("wait_end_of_query")),
            compression=compression,
            compression_level=level,
            settings=settings,
            query_params=query_params,
        )

    @staticmethod
    def _apply_grant(request: Request) -> None:
        """A non-admin is read-only; a row-filtered one gets its filter and may not send a setting that lifts it."""
        account = request.account
        assert account is not None
        if account.admin:
            return
        request.readonly = True
        grant = grant_of(account)
        if grant.row_filter is not None:
            refused = sorted(PROTECTED_SETTINGS & set(request.settings))
            if refused:
                raise denied(f"this user may not change the setting {refused[0]}")
            request.settings.update(grant.settings())

    def _read_statement(self, request: Request, body: BodyReader) -> tuple[Statement, bytes]:
        """Read as much of the body as it takes to find the statement; return it and the data after it."""
        query = request.params.get("query")
        buffer = bytearray(query.encode() + b"\n" if query else b"")
        step = 64 * 1024
        while True:
            try:
                stmt = split_statement(buffer.decode("latin-1"), complete=body.exhausted)
                break
            except NeedMoreText:
                if len(buffer) > MAX_QUERY_BYTES:
                    raise ClickHouseError(
                        "SYNTAX_ERROR", f"Max query size exceeded ({MAX_QUERY_BYTES} bytes)"
                    ) from None
                buffer += body.read(step)
                step = min(step * 2, READ_SIZE)
            except SqlSplitError as exc:
                raise ClickHouseError("SYNTAX_ERROR", f"Syntax error: {exc}") from None
        stmt.sql = stmt.sql.encode("latin-1").decode("utf-8", errors="surrogateescape")  # see engine_sql
        rest = bytes(buffer[stmt.data_offset :]) if stmt.data_offset is not None else b""
        return stmt, rest

    def _execute(self, server: ClickHouseServer, request: Request, body: BodyReader, writer: ResponseWriter) -> None:
        stmt, data_head = self._read_statement(request, body)
        record = QueryRecord(
            query_id=request.query_id,
            user=request.user,
            query=stmt.sql,
            kind=stmt.kind,
            method=self.command,
            user_agent=self.headers.get("User-Agent") or "",
            session_id=request.session_id or "",
        )
        with server.engine.log.query(record):
            self._execute_statement(server, request, stmt, data_head, body, writer, record)

    def _execute_statement(
        self,
        server: ClickHouseServer,
        request: Request,
        stmt: Statement,
        data_head: bytes,
        body: BodyReader,
        writer: ResponseWriter,
        record: QueryRecord,
    ) -> None:
        if self.command == "GET" and stmt.kind not in READ_ONLY_KINDS:
            raise ClickHouseError(
                "READONLY", "Cannot execute query in readonly mode. GET requests are read-only: use POST"
            )
        engine = server.engine
        account = request.account
        assert account is not None
        if stmt.is_insert_with_data and not account.admin:
            raise read_only("INSERT")
        if account.admin and _FLUSH_LOGS.match(stmt.sql):
            engine.log.flush()  # the server's own logs first: the engine has none to flush
        with engine.connection(
            request.user, request.readonly, request.session_id, request.session_timeout, request.session_check
        ) as conn:
            writer.connection = conn
            if changes_session_state(stmt.sql):
                conn.reset_overrides()
                if not request.session_id:
                    conn.broken = True  # a sessionless SET/USE/temporary table must not outlive the request
            # The request's database, else the session's (what it last USEd) or, pooled, `default`.
            conn.prepare(request.database or conn.home_database, request.settings)
            record.database = conn.database or "default"
            engine.check_access(conn, account, stmt.sql, request.query_params)
            with self._external_tables(conn, request.external):
                record.summary = self._run_statement(server, request, stmt, data_head, body, writer, conn)
            if stmt.kind == "USE" and request.session_id:
                conn.adopt_current_database()

    @staticmethod
    @contextlib.contextmanager
    def _external_tables(conn: EngineConnection, tables: list[ExternalTable]) -> Iterator[None]:
        """External data: temporary tables that live for this one query."""
        created: list[str] = []
        try:
            for table in tables:
                name = quote_identifier(table.name)
                conn.query(f"CREATE TEMPORARY TABLE {name} ({table.structure})")
                created.append(name)
                try:
                    inserter = conn.raw.send_insert(f"INSERT INTO {name}", table.format)
                    if table.data:
                        inserter.append(table.data)
                    inserter.finish()
                except Exception as exc:
                    raise ClickHouseError.from_engine(exc) from None
            yield
        finally:
            for name in created:
                with contextlib.suppress(ClickHouseError):
                    conn.query(f"DROP TEMPORARY TABLE IF EXISTS {name}")

    def _run_statement(
        self,
        server: ClickHouseServer,
        request: Request,
        stmt: Statement,
        data_head: bytes,
        body: BodyReader,
        writer: ResponseWriter,
        conn: EngineConnection,
    ) -> dict[str, int] | None:
        """Run the statement and answer it; return what it read and wrote, when known before it is sent."""
        tag = f"pulse-q-{uuid.uuid4().hex}"
        sql = f"/* {tag} */ {stmt.sql}"
        if stmt.is_insert_with_data:
            fmt = stmt.format or "Values"
            if request.query_params:
                summary = self._insert_with_params(conn, sql, fmt, data_head, body, request.query_params)
            else:
                summary = self._insert(conn, sql, fmt, data_head, body)
            writer.whole(b"", None, summary, 0)
            return summary
        if not body.received:
            body.drain()
        fmt = stmt.format or request.default_format
        with server.watcher.watch(self.connection, tag):
            if stmt.kind in STREAMED_KINDS and streaming_mode(fmt) != "whole":
                chunks = self._stream(conn, sql, fmt, request.query_params)
                try:
                    first = next(chunks, None)  # errors before the first byte get a proper HTTP status
                    if first is not None or empty_result_is_empty(fmt):
                        self._send_stream(writer, request, first, chunks, fmt)
                        return None
                finally:
                    chunks.close()  # cancels an unfinished engine stream before the connection is reused
            result = conn.query(sql, fmt, request.query_params)
        data = result.bytes()
        summary = _summary(result)
        writer.whole(data, fmt if stmt.kind in STREAMED_KINDS or data else None, summary, len(data))
        return summary

    def _send_stream(
        self, writer: ResponseWriter, request: Request, first: bytes | None, rest: Iterator[bytes], fmt: str
    ) -> None:
        def all_chunks() -> Iterator[bytes]:
            if first is not None:
                yield first
                yield from rest

        shaped = shape_stream(all_chunks(), fmt)
        if not request.wait_end_of_query:
            writer.stream(shaped, fmt, None)
            return
        # wait_end_of_query: the whole result first (spilling to disk), so a late error still gets a status.
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            size = 0
            for chunk in shaped:
                spool.write(chunk)
                size += len(chunk)
            spool.seek(0)
            writer.whole(spool, fmt, None, size)  # type: ignore[arg-type]

    @staticmethod
    def _stream(conn: EngineConnection, sql: str, fmt: str, params: dict[str, str]) -> Generator[bytes]:
        try:
            stream = conn.raw.send_query(engine_sql(sql), engine_format(fmt), params=params or None)
        except Exception as exc:
            raise ClickHouseError.from_engine(exc) from None
        finished = False
        try:
            while True:
                try:
                    chunk = stream.fetch()
                except Exception as exc:
                    raise ClickHouseError.from_engine(exc) from None
                if chunk is None:
                    finished = True
                    return
                yield chunk.bytes()
        finally:
            if not finished:
                # The client went away or the stream failed: stop the engine and free the connection.
                with contextlib.suppress(Exception):
                    stream.cancel()

    @classmethod
    def _insert_with_params(
        cls, conn: EngineConnection, sql: str, fmt: str, head: bytes, body: BodyReader, params: dict[str, str]
    ) -> dict[str, int]:
        """An INSERT with query parameters: `VALUES ({id:UInt32})` or `WITH {x:Int32} AS v INSERT ... FORMAT`.

        The engine's streaming insert takes no parameters, so a textual body that fits in a query runs whole,
        statement and data, as ClickHouse parses it; a binary or larger one streams (parameters can then only
        have been meant for the statement, and the engine says which one it misses)."""
        data = bytearray(head)
        while len(data) <= MAX_QUERY_BYTES and (chunk := body.read()):
            data += chunk
        try:
            text = data.decode() if body.exhausted and len(data) <= MAX_QUERY_BYTES else None
        except UnicodeDecodeError:
            text = None
        if text is None:
            return cls._insert(conn, sql, fmt, bytes(data), body)
        # The engine runs the query's every statement, and Values data ends at a `;`: what follows it would run
        # as SQL of its own (ClickHouse reads the body as data only, and refuses it).
        if fmt.lower() == "values":
            try:
                extra = statement_follows(text)
            except SqlSplitError as exc:
                raise ClickHouseError("SYNTAX_ERROR", f"Syntax error: {exc}") from None
            if extra:
                raise ClickHouseError("SYNTAX_ERROR", "Syntax error: Multi-statements are not allowed")
        # A line break first: the statement may end in a `--` comment.
        result = conn.query(f"{sql}\nFORMAT {quote_identifier(fmt)}\n{text}", "TSV", params)
        return {
            "written_rows": result.rows_written(),
            "written_bytes": result.bytes_written(),
            "elapsed_ns": int(result.elapsed() * 1e9),
        }

    @staticmethod
    def _insert(conn: EngineConnection, sql: str, fmt: str, head: bytes, body: BodyReader) -> dict[str, int]:
        with read_ahead(body, head) as pieces:
            fmt, data = as_stream(fmt, pieces)
            try:
                inserter = conn.raw.send_insert(sql, fmt)
            except Exception as exc:
                raise ClickHouseError.from_engine(exc) from None
            try:
                for piece in data:
                    inserter.append(piece)
                result = inserter.finish()
            except (ClickHouseError, OSError):  # OSError: reading the body (on the read-ahead thread) failed
                with contextlib.suppress(Exception):
                    inserter.cancel()
                raise
            except Exception as exc:
                with contextlib.suppress(Exception):
                    inserter.cancel()
                raise ClickHouseError.from_engine(exc) from None
        return {
            "written_rows": result.rows_written,
            "written_bytes": result.bytes_written,
            "elapsed_ns": int(result.elapsed * 1e9),
        }


def _summary(result: Any) -> dict[str, int]:
    return {
        "read_rows": result.storage_rows_read(),
        "read_bytes": result.storage_bytes_read(),
        "written_rows": result.rows_written(),
        "written_bytes": result.bytes_written(),
        "result_rows": result.rows_read(),
        "result_bytes": result.bytes_read(),
        "elapsed_ns": int(result.elapsed() * 1e9),
    }


class ClickHouseServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], engine: Engine, max_body_bytes: int) -> None:
        super().__init__(address, ClickHouseHandler)
        self.engine = engine
        self.max_body_bytes = max_body_bytes
        self.watcher = DisconnectWatcher(engine)
        self.draining = False
        self._active = 0
        self._active_lock = threading.Condition()

    @contextlib.contextmanager
    def tracking(self) -> Iterator[None]:
        with self._active_lock:
            self._active += 1
        try:
            yield
        finally:
            with self._active_lock:
                self._active -= 1
                self._active_lock.notify_all()

    def drain(self, timeout: float) -> bool:
        """Stop taking requests on open connections and wait for those running. True if all finished."""
        self.draining = True
        with self._active_lock:
            return self._active_lock.wait_for(lambda: self._active == 0, timeout)
