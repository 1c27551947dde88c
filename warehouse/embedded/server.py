"""Running the embedded warehouse: in the foreground, or as a background process with a pidfile."""

from __future__ import annotations

import functools
import logging
import signal
import sys
import threading

from pulse.core import processes
from pulse.core.console import PulseError
from pulse.core.processes import Service, pulse_env
from pulse.core.settings import Settings
from warehouse.access import warehouse_account
from warehouse.embedded.engine import Engine
from warehouse.embedded.http_server import ClickHouseServer

log = logging.getLogger("pulse.warehouse")


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Own the data directory and answer ClickHouse HTTP requests until SIGTERM or SIGINT."""
    host = host or settings.clickhouse_host
    port = port or settings.clickhouse_port
    data_dir = settings.warehouse_dir / "data"
    settings.resolved_warehouse_users()  # every user's password exists in PULSE_HOME/secrets before the first client
    settings.hospital_key()
    try:
        engine = Engine(
            data_dir,
            functools.partial(warehouse_account, settings),
            max_concurrent_queries=settings.warehouse_max_concurrent_queries,
            default_session_timeout=settings.warehouse_session_timeout,
            max_session_timeout=settings.warehouse_max_session_timeout,
            queue_wait_seconds=settings.warehouse_queue_wait_seconds,
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


def service(settings: Settings) -> Service:
    """The warehouse as a background service of the platform (pidfile and log under PULSE_HOME/run)."""
    return Service(
        name="warehouse",
        command=[sys.executable, "-m", "warehouse.embedded", "serve"],
        health_url=f"http://{settings.clickhouse_host}:{settings.clickhouse_port}/ping",
        env=pulse_env(settings),
        healthy_if=lambda r: r.status_code == 200 and r.text == "Ok.\n",
    )


def start(settings: Settings) -> int:
    """Start the server in the background (idempotent); return its pid once it answers /ping."""
    return processes.start(service(settings), settings)


def stop(settings: Settings) -> bool:
    """Graceful stop: running queries finish first. False if it was not running."""
    return processes.stop(service(settings), settings)


def healthy(settings: Settings) -> bool:
    return processes.healthy(service(settings))


def running_pid(settings: Settings) -> int | None:
    return processes.running_pid(service(settings), settings)
