"""One rich console for every Pulse command, and the error type that tells the user what to do next."""

from __future__ import annotations

from rich.console import Console

console = Console(stderr=True)


class PulseError(Exception):
    """An error a user can act on: `str()` says what went wrong, `hint` says what to do next."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint
