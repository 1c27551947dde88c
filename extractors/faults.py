"""Fault injection for the crash tests: `PULSE_FAULT=<point>[:n]` kills the process at that point (the n-th
time it is reached). Points: `mid-batch` and `after-load` in the loader (`extractors.load`),
`reader-mid-stream` in the SQLite reader process (after it has written n record batches)."""

from __future__ import annotations

import os
import signal

_hits: dict[str, int] = {}


def crash_point(name: str) -> None:
    wanted, _, nth = os.environ.get("PULSE_FAULT", "").partition(":")
    if wanted == name:
        _hits[name] = _hits.get(name, 0) + 1
        if _hits[name] >= int(nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)
