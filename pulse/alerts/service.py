"""The alerts service (`pulse alerts serve`): every PULSE_ALERTS_INTERVAL_SECONDS it evaluates the operational alert
rules against the store and sends every notice that is due. It holds no state of its own: everything is in the
store, so it can be restarted at any moment (and a second one would send nothing twice: see delivery).

Healthy while its heartbeat file (PULSE_HOME/run/alerts.heartbeat: its pid) is fresh and the pid alive.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from pathlib import Path

from operational_api.db import Store
from operational_api.models import utcnow
from operational_api.services.alert_conditions import evaluate_operational
from pulse.alerts.delivery import deliver_due
from pulse.core import processes
from pulse.core.processes import Service, pulse_command, pulse_env
from pulse.core.settings import Settings

log = logging.getLogger("pulse.alerts")
NAME = processes.ALERTS_SERVICE


def heartbeat_path(settings: Settings) -> Path:
    return processes.heartbeat_path(settings, NAME)


def alive(settings: Settings) -> bool:
    """The service's last heartbeat is recent and its process is running."""
    return processes.beating(settings, NAME, settings.alerts_interval_seconds)


def service(settings: Settings) -> Service:
    return Service(
        name=NAME,
        command=pulse_command("alerts", "serve"),
        health_url=f"file://{heartbeat_path(settings)}",
        env=pulse_env(settings),
        probe=lambda: alive(settings),
    )


def run_once(store: Store, settings: Settings) -> bool:
    """One round: evaluate, then send what is due (even when a rule failed: the others' notices must go out).
    True when every rule was evaluated and recorded."""
    now = utcnow()
    try:
        observed = evaluate_operational(store, now)
    finally:
        deliver_due(store, settings)
    if observed.raised or observed.resolved or observed.reminded or observed.reopened:
        log.info("alerts: %d raised, %d reopened, %d reminded, %d resolved", observed.raised, observed.reopened,
                 observed.reminded, observed.resolved)  # fmt: skip
    return not observed.failed


def serve(settings: Settings) -> None:
    """Evaluate and deliver until SIGTERM (finishing the round in progress). The heartbeat moves only after a round
    in which every rule was evaluated: a service that keeps failing shows unhealthy (`pulse status`)."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    store = Store(settings=settings)
    beat = heartbeat_path(settings)
    beat.parent.mkdir(parents=True, exist_ok=True)
    log.info("alerts service: evaluating every %.1f s", settings.alerts_interval_seconds)
    try:
        while not stop.is_set():
            started = time.monotonic()
            healthy = False
            try:
                healthy = run_once(store, settings)
            except Exception:  # the store briefly unavailable, say: log it and try again next round
                log.exception("alerts round failed; retrying in %.1f s", settings.alerts_interval_seconds)
            if healthy:
                beat.write_text(str(os.getpid()))
            stop.wait(max(settings.alerts_interval_seconds - (time.monotonic() - started), 0.0))
    finally:
        with contextlib.suppress(OSError):
            beat.unlink()
        store.dispose()
