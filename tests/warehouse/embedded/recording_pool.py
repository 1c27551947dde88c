"""A real urllib3 pool that notes each exchange's Content-Encoding headers: how the client-compression
checks see what went over the wire (imported by the main-venv tests and by the Superset-venv script)."""

from __future__ import annotations

from typing import Any

import urllib3


class RecordingPoolManager(urllib3.PoolManager):
    """A real urllib3 pool that also notes each request's and response's Content-Encoding."""

    def __init__(self) -> None:
        super().__init__(maxsize=4)
        self.exchanges: list[dict[str, Any]] = []

    def urlopen(self, method: str, url: str, redirect: bool = True, **kw: Any) -> Any:
        response = super().urlopen(method, url, redirect=redirect, **kw)
        headers = dict(kw.get("headers") or {})
        self.exchanges.append(
            {
                "sent_encoding": headers.get("Content-Encoding"),
                "accept": headers.get("Accept-Encoding"),
                "got_encoding": response.headers.get("Content-Encoding"),
            }
        )
        return response
