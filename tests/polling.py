"""Waiting for something to happen in another process or thread: poll for it, never sleep a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_until(condition: Callable[[], T], *, what: str, timeout: float = 30.0, interval: float = 0.05) -> T:
    """Call `condition` until it returns something truthy and return that; fail naming `what` if it never does.

    `timeout` only bounds a wait for something that should happen far sooner: it is no assertion on timing.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            pytest.fail(f"waited {timeout:g} s, but never {what}")
        time.sleep(interval)
