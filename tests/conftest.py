"""Shared fixtures: real processes only (the embedded warehouse server, real files, real databases)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
SUPERSET_PYTHON = REPO / ".venv-superset" / "bin" / "python"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class WarehouseProcess:
    """A real `pulse warehouse serve` process on its own port and PULSE_HOME."""

    home: Path
    port: int
    env_overrides: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PULSE_HOME": str(self.home),
            "PULSE_CLICKHOUSE_URL": f"http://default:@127.0.0.1:{self.port}",
            **self.env_overrides,
        }

    def start(self) -> WarehouseProcess:
        log = open(self.home / "server.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "warehouse.embedded", "serve"], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"warehouse exited: {(self.home / 'server.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/ping", timeout=1).text == "Ok.\n":
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("warehouse did not answer /ping")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)

    def client(self, **kwargs: object):  # type: ignore[no-untyped-def]
        import clickhouse_connect

        kwargs.setdefault("password", self.admin_password)
        return clickhouse_connect.get_client(host="127.0.0.1", port=self.port, username="default", **kwargs)

    @property
    def admin_url(self) -> str:
        """PULSE_CLICKHOUSE_URL for settings whose PULSE_HOME is not this server's (the password travels in it)."""
        return f"http://default:{self.admin_password}@127.0.0.1:{self.port}"

    @property
    def auth(self) -> tuple[str, str]:
        return ("default", self.admin_password)

    @property
    def admin_password(self) -> str:
        """The embedded admin's generated password (the server writes it when it starts)."""
        return (self.home / "secrets" / "warehouse_default_password").read_text().strip()


@pytest.fixture
def process_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """`process_settings(PULSE_X="...")`: what get_settings() answers in this process for the rest of the test (the
    environment set, its cache cleared before and after)."""
    from pulse.core.settings import get_settings

    def use(**env: str) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WarehouseProcess]:
    """One warehouse server per test worker, shared by the tests that only read and write their own tables."""
    home = tmp_path_factory.mktemp("pulse-home")
    server = WarehouseProcess(home=home, port=free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def new_warehouse(tmp_path: Path) -> Iterator[type[WarehouseProcess]]:
    """Factory for tests that restart, kill or reconfigure their own server."""
    started: list[WarehouseProcess] = []

    def make(**env: str) -> WarehouseProcess:
        server = WarehouseProcess(home=tmp_path / f"home{len(started)}", port=free_port(), env_overrides=env)
        server.home.mkdir(parents=True, exist_ok=True)
        started.append(server)
        return server.start()

    yield make  # type: ignore[misc]
    for server in started:
        if server.process and server.process.poll() is None:
            server.stop(signal.SIGKILL)


# Shared fixtures of the pipeline tests: a simulated store plus a fresh warehouse (see tests/platform.py).
from tests.platform import platform, simulated_home  # noqa: E402, F401
