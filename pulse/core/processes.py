"""Background services of the embedded platform: started with a pidfile and a log under PULSE_HOME/run,
healthy when their health URL answers, stopped with SIGTERM (then SIGKILL after a grace period)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from pulse.core.console import PulseError
from pulse.core.settings import Settings


@dataclass(frozen=True)
class Service:
    name: str
    command: list[str]
    health_url: str
    env: dict[str, str]
    healthy_if: Callable[[httpx.Response], bool] = lambda r: r.status_code == 200
    start_timeout: float = 60.0
    # For services that do not speak HTTP (the SMTP sink): a check that replaces GET health_url.
    probe: Callable[[], bool] | None = None

    def run_dir(self, settings: Settings) -> Path:
        return settings.home / "run"

    def pidfile(self, settings: Settings) -> Path:
        return self.run_dir(settings) / f"{self.name}.pid"

    def logfile(self, settings: Settings) -> Path:
        return self.run_dir(settings) / f"{self.name}.log"


def _recorded_pid(service: Service, settings: Settings) -> int | None:
    try:
        return int(service.pidfile(settings).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def running_pid(service: Service, settings: Settings) -> int | None:
    pid = _recorded_pid(service, settings)
    if pid is None:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def _group_alive(pgid: int) -> bool:
    """Any live process left in the group (a service's tree: start() makes its leader a new session). Zombies do
    not count: an orphan's is reaped by init whenever init gets to it, which need not be soon."""
    proc = Path("/proc")
    if not proc.is_dir():  # no procfs (macOS): ask the kernel, zombies included
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, _, group = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError, ValueError):
            continue  # ended meanwhile
        if int(group) == pgid and state != "Z":
            return True
    return False


def healthy(service: Service, timeout: float = 2.0) -> bool:
    if service.probe is not None:
        return service.probe()
    try:
        return service.healthy_if(httpx.get(service.health_url, timeout=timeout))
    except httpx.HTTPError:
        return False


def start(service: Service, settings: Settings) -> int:
    """Start in the background (idempotent); returns the pid once the health URL answers."""
    pid = running_pid(service, settings)
    if healthy(service):
        if pid is not None:
            return pid
        raise PulseError(
            f"something else already answers at {service.health_url}",
            f"stop it, or give this PULSE_HOME's {service.name} another port (see `pulse settings`)",
        )
    service.run_dir(settings).mkdir(parents=True, exist_ok=True)
    with open(service.logfile(settings), "ab") as log:
        process = subprocess.Popen(
            service.command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() ends the whole tree
            env=service.env,
        )
    service.pidfile(settings).write_text(str(process.pid))
    deadline = time.monotonic() + service.start_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = service.logfile(settings).read_text(errors="replace")[-2000:]
            raise PulseError(
                f"{service.name} exited at start (code {process.returncode}):\n{tail}",
                f"see {service.logfile(settings)}",
            )
        if healthy(service):
            return process.pid
        time.sleep(0.2)
    raise PulseError(f"{service.name} did not become healthy in time", f"see {service.logfile(settings)}")


def stop(service: Service, settings: Settings, grace: float = 60.0) -> bool:
    """SIGTERM the service's process group and wait until every process in it has ended, not only its leader
    (Airflow's scheduler once outlived its parent); SIGKILL what is left after `grace` seconds. A group whose leader
    is gone is still stopped. False if nothing of it was running."""
    pgid = _recorded_pid(service, settings)
    if pgid is None or not _group_alive(pgid):
        service.pidfile(settings).unlink(missing_ok=True)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pgid, os.WNOHANG)  # the leader, when this process started it
        if not _group_alive(pgid):
            break
        time.sleep(0.1)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
    service.pidfile(settings).unlink(missing_ok=True)
    return True


ALERTS_SERVICE = "alerts"  # the one service without a port: told alive by its heartbeat


def heartbeat_path(settings: Settings, name: str) -> Path:
    """The file a service without an HTTP port (the alerts service) rewrites after every round: its pid."""
    return settings.home / "run" / f"{name}.heartbeat"


def beating(settings: Settings, name: str, period: float) -> bool:
    """The service's heartbeat is younger than three of its periods (at least 30 s) and its process is running."""
    path = heartbeat_path(settings, name)
    try:
        age = time.time() - path.stat().st_mtime
        os.kill(int(path.read_text().strip()), 0)
    except (OSError, ValueError):
        return False
    return age < max(3 * period, 30.0)


def pulse_command(*args: str) -> list[str]:
    """`python -m pulse <args>` with this interpreter (works without the venv on PATH)."""
    return [sys.executable, "-m", "pulse", *args]


def pulse_env(settings: Settings) -> dict[str, str]:
    return {**os.environ, "PULSE_HOME": str(settings.home), "PULSE_CLICKHOUSE_URL": settings.clickhouse_url}
