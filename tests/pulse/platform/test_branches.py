"""The demo's side branches (pulse/platform/branches.py): a failure stops the main line with what failed and what to
do next, a branch that hangs does not hang the demo, and branch lines wait while a child process draws."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from pulse.core.console import PulseError, console
from pulse.platform.branches import NEXT_STEP, Board, Branch, BranchFailed, check_all, run_captured


def test_a_failed_branch_stops_the_main_line_with_what_failed() -> None:
    board = Board()

    def fails() -> None:
        raise PulseError("Superset's metadata initialisation failed (exit 1)", "rerun `pulse superset init`")

    branch = Branch("Superset's start-up", fails, board)
    ok = Branch("Airflow's metadata database", lambda: 42, board)
    assert ok.wait() == 42
    deadline = time.monotonic() + 10
    while not branch.done and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(BranchFailed) as raised:
        check_all([ok, branch])
    assert "Superset's start-up failed: Superset's metadata initialisation failed" in str(raised.value)
    assert raised.value.hint == "rerun `pulse superset init`"
    with pytest.raises(BranchFailed):
        branch.wait()


def test_an_unexpected_error_names_the_branch_and_the_next_step() -> None:
    branch = Branch("the statements", lambda: 1 / 0, Board())
    with pytest.raises(BranchFailed) as raised:
        branch.wait()
    assert "the statements failed: ZeroDivisionError" in str(raised.value)
    assert raised.value.hint == NEXT_STEP


def test_a_branch_that_hangs_does_not_hang_the_demo() -> None:
    release = threading.Event()
    branch = Branch("the dbt docs", release.wait, Board(), timeout=0.3)
    began = time.monotonic()
    with pytest.raises(BranchFailed, match=r"did not finish within 0\.3 s"):
        branch.wait()
    assert time.monotonic() - began < 5
    check_all([branch])  # still running: nothing to report yet
    release.set()


def test_a_child_process_failure_carries_its_output() -> None:
    script = "import sys; print('migrating'); print('no such table: ab_user', file=sys.stderr); sys.exit(3)"
    with pytest.raises(PulseError) as raised:
        run_captured([sys.executable, "-c", script], {}, "airflow db migrate")
    assert "airflow db migrate failed (exit 3)" in str(raised.value)
    assert "no such table: ab_user" in str(raised.value)
    assert run_captured([sys.executable, "-c", "print('ok')"], {}, "echo").strip() == "ok"


def test_branch_lines_wait_while_a_child_process_draws() -> None:
    board = Board()
    with console.capture() as captured:
        with board.child_output():
            board.say("✓ Superset started")
            console.print("simulating 365/365")
        board.say("✓ Airflow ready")
    text = captured.get()
    assert text.index("simulating") < text.index("Superset started") < text.index("Airflow ready")


def test_a_niced_child_and_what_it_starts_run_at_the_lower_priority() -> None:
    # The grandchild starts a second later, long after the priority was set on its parent.
    code = ("import subprocess, sys, time; time.sleep(1); "
            "print(subprocess.run([sys.executable, '-c', 'import os; print(os.nice(0))'], capture_output=True, "
            "text=True).stdout.strip())")  # fmt: skip
    base = int(run_captured([sys.executable, "-c", "import os; print(os.nice(0))"], {}, "probe"))
    assert run_captured([sys.executable, "-c", code], {}, "statements", nice=10).strip() == str(min(base + 10, 19))
    assert run_captured([sys.executable, "-c", code], {}, "services").strip() == str(base)
