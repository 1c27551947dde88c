"""Running the embedded warehouse: in the foreground, or as a background process with a pidfile."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from pulse.console import PulseError
from pulse.settings import Settings
from warehouse.engine import Engine
from warehouse.http_server import ClickHouseServer

log = logging.getLogger("pulse.warehouse")


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Own the data directory and answer ClickHouse HTTP requests until SIGTERM or SIGINT."""
    host = host or settings.clickhouse_host
    port = port or settings.clickhouse_port
    data_dir = settings.warehouse_dir / "data"
    try:
        engine = Engine(
            data_dir,
            settings.resolved_warehouse_users(),
            max_concurrent_queries=settings.warehouse_max_concurrent_queries,
            default_session_timeout=settings.warehouse_session_timeout,
            max_session_timeout=settings.warehouse_max_session_timeout,
            queue_wait_seconds=settings.warehouse_queue_wait_seconds,
            session_wait_seconds=settings.warehouse_session_wait_seconds,
        )
    except Exception as exc:
        if "Cannot lock file" in str(exc):
            raise PulseError(
                f"another process already owns the warehouse data in {data_dir}",
                "stop it with `pulse warehouse stop` (or use another PULSE_HOME)",
            ) from None
        raise
    try:
        server = ClickHouseServer((host, port), engine, settings.warehouse_max_body_bytes)
    except OSError as exc:
        engine.close(0)
        raise PulseError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            "stop whatever uses the port, or set PULSE_CLICKHOUSE_URL to another port",
        ) from None

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %s: no new connections, finishing running queries", signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("warehouse (ClickHouse %s engine) on http://%s:%s, data in %s", engine.version, host, port, data_dir)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        server.drain(timeout=30)
        engine.close(wait_seconds=30)
        log.info("warehouse stopped cleanly")


def pidfile(settings: Settings) -> Path:
    return settings.warehouse_dir / "server.pid"


def logfile(settings: Settings) -> Path:
    return settings.warehouse_dir / "server.log"


def running_pid(settings: Settings) -> int | None:
    path = pidfile(settings)
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    except PermissionError:
        return int(path.read_text().strip())
    return pid


def healthy(settings: Settings, timeout: float = 1.0) -> bool:
    try:
        response = httpx.get(f"http://{settings.clickhouse_host}:{settings.clickhouse_port}/ping", timeout=timeout)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and response.text == "Ok.\n"


def start(settings: Settings, wait_seconds: float = 60.0) -> int:
    """Start the server in the background (idempotent); return its pid once it answers /ping."""
    pid = running_pid(settings)
    if pid is not None and healthy(settings):
        return pid
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    with open(logfile(settings), "ab") as log_handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "warehouse", "serve"],
            stdout=log_handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "PULSE_HOME": str(settings.home), "PULSE_CLICKHOUSE_URL": settings.clickhouse_url},
        )
    pidfile(settings).write_text(str(process.pid))
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = logfile(settings).read_text(errors="replace")[-2000:]
            raise PulseError(f"the warehouse exited at start (code {process.returncode}):\n{tail}",
                             f"see {logfile(settings)}")  # fmt: skip
        if healthy(settings):
            return process.pid
        time.sleep(0.1)
    raise PulseError("the warehouse did not answer /ping in time", f"see {logfile(settings)}")


def stop(settings: Settings, wait_seconds: float = 60.0) -> bool:
    """SIGTERM (graceful: running queries finish), then SIGKILL after the wait. False if not running."""
    pid = running_pid(settings)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    pidfile(settings).unlink(missing_ok=True)
    return True
