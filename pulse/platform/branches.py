"""Steps of `pulse demo` that run beside the main line (Superset's and Airflow's start-up while the data is
simulated, the statements while the dashboards are imported), each in a daemon thread.

A branch never draws on the terminal while it runs (its child processes' output is captured); it prints one line
when done, held back while the main line lends the terminal to a child process with a progress bar
(`Board.child_output`). A branch that fails stops the demo at the main line's next `check` or `wait`, with what
failed, the tail of its output and what to do next; the main line never waits on a branch for ever (each has a
deadline). Daemon threads: a demo stopped by an error or Ctrl-C does not wait for them.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from pulse.core.console import PulseError, console

T = TypeVar("T")

NEXT_STEP = "`pulse down` stops what the demo started; fix the cause and run `pulse demo` again"


class Board:
    """The terminal shared by the main line and its branches: branch lines wait while a child process draws."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: list[str] | None = None

    def say(self, line: str) -> None:
        with self._lock:
            if self._held is not None:
                self._held.append(line)
                return
        console.print(line)

    @contextlib.contextmanager
    def child_output(self) -> Iterator[None]:
        with self._lock:
            self._held = []
        try:
            yield
        finally:
            with self._lock:
                held, self._held = self._held or [], None
            for line in held:
                console.print(line)


class BranchFailed(PulseError):
    pass


class Branch(Generic[T]):
    """`work` in a daemon thread; `wait()` returns its result or raises BranchFailed naming `what`."""

    def __init__(self, what: str, work: Callable[[], T], board: Board, *, timeout: float = 900.0) -> None:
        self.what = what
        self.timeout = timeout
        self.started = time.monotonic()
        self.seconds: float | None = None
        self._board = board
        self._result: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(work,), name=f"demo: {what}", daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[], T]) -> None:
        try:
            self._result = work()
        except BaseException as err:  # reported by wait()/check() in the main line
            self._error = err
        finally:
            self.seconds = time.monotonic() - self.started

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def check(self) -> None:
        """Raise now if the branch has already failed (the main line calls this between its steps)."""
        if self.done and self._error is not None:
            self._raise()

    def wait(self) -> T:
        left = self.timeout - (time.monotonic() - self.started)
        self._thread.join(max(left, 0.0))
        if self._thread.is_alive():
            raise BranchFailed(f"{self.what} did not finish within {self.timeout:g} s", NEXT_STEP)
        if self._error is not None:
            self._raise()
        return self._result  # type: ignore[return-value]

    def _raise(self) -> None:
        err = self._error
        if isinstance(err, PulseError):
            raise BranchFailed(f"{self.what} failed: {err}", err.hint or NEXT_STEP) from err
        raise BranchFailed(f"{self.what} failed: {type(err).__name__}: {err}", NEXT_STEP) from err


def check_all(branches: list[Branch[object]]) -> None:
    for branch in branches:
        branch.check()


def run_captured(args: list[str], env: dict[str, str], what: str, *, cwd: str | None = None, nice: int = 0) -> str:
    """A child process whose output is kept (branches do not draw on the terminal); PulseError with its tail.
    `nice`: run it (and what it starts) at that lower priority, for work that must not slow the services' start."""
    with subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, text=True, errors="replace") as child:  # fmt: skip
        if nice:
            with contextlib.suppress(ProcessLookupError):  # set before it starts its own children, or already gone
                os.setpriority(os.PRIO_PROCESS, child.pid, nice)
        output, _ = child.communicate()
    if child.returncode != 0:
        raise PulseError(f"{what} failed (exit {child.returncode}):\n{output[-3000:]}", NEXT_STEP)
    return output
