"""`pulse down` (processes.stop) ends a service's whole process tree, not only its leader: a child that ignores
SIGTERM (as a hung Airflow scheduler did) is killed after the grace period, also when its leader is already gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pulse.core import processes
from pulse.core.settings import Settings

# The leader starts a child that ignores SIGTERM, prints the child's pid, and waits (SIGTERM ends it).
TREE = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(600)"],
    stdout=subprocess.PIPE, text=True)
child.stdout.readline()
print(child.pid, flush=True)
time.sleep(600)
"""


def ended(pid: int) -> bool:
    """Gone, or a zombie waiting for init to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def start_tree(service: processes.Service, settings: Settings) -> tuple[subprocess.Popen[str], int]:
    # A session of its own, as processes.start() starts a service.
    leader = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert leader.stdout is not None
    child = int(leader.stdout.readline())
    service.run_dir(settings).mkdir(parents=True, exist_ok=True)
    service.pidfile(settings).write_text(str(leader.pid))
    return leader, child


def test_stop_ends_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    service = processes.Service("stubborn", [], "http://127.0.0.1:9/", {})
    leader, child = start_tree(service, settings)
    try:
        assert processes.stop(service, settings, grace=2.0)
        deadline = time.monotonic() + 10
        while not ended(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ended(child), "the child that ignored SIGTERM outlived `pulse down`"
        assert leader.wait(timeout=5) is not None
        assert not service.pidfile(settings).exists()
    finally:
        if not ended(child):
            os.kill(child, signal.SIGKILL)


def test_stop_ends_what_is_left_of_a_group_whose_leader_is_gone(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    service = processes.Service("orphaned", [], "http://127.0.0.1:9/", {})
    leader, child = start_tree(service, settings)
    leader.terminate()
    leader.wait(timeout=5)
    assert processes.running_pid(service, settings) is None and not ended(child)
    assert processes.stop(service, settings, grace=1.0)
    deadline = time.monotonic() + 10
    while not ended(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ended(child)
    assert not processes.stop(service, settings)  # nothing left: said so
