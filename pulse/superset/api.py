"""A small client for Superset's REST API: sign in, CSRF, paged listings, the assets bundle, chart data.

Superset's writes need a CSRF token bound to the session cookie (and a Referer); reads only the bearer token.
One `SupersetClient` is one signed-in session.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from pulse.core.console import PulseError

PAGE_SIZE = 100  # Superset's largest page


class SupersetError(PulseError):
    """Superset refused a request: the message carries its status and answer."""


def rison(value: Any) -> str:
    """Superset's `q=` parameters are Rison; the few Pulse needs are dicts of numbers, strings and lists."""
    if isinstance(value, dict):
        return "(" + ",".join(f"{k}:{rison(v)}" for k, v in value.items()) + ")"
    if isinstance(value, list | tuple):
        return "!(" + ",".join(rison(v) for v in value) + ")"
    if isinstance(value, bool):
        return "!t" if value else "!f"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if text and all(c.isalnum() or c in "-_./~" for c in text) and not text[0].isdigit() and text[0] != "-":
        return text
    return "'" + text.replace("!", "!!").replace("'", "!'") + "'"


class SupersetClient:
    def __init__(self, base_url: str, username: str, password: str, timeout: float = 300.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout, headers={"Referer": self.base_url})
        try:
            response = self.http.post(
                "/api/v1/security/login",
                json={"username": username, "password": password, "provider": "db", "refresh": False},
            )
        except httpx.HTTPError as err:
            self.http.close()
            raise PulseError(
                f"Superset does not answer at {self.base_url}: {err}", "start it: `pulse superset start`"
            ) from err
        if response.status_code != 200:
            self.http.close()
            raise PulseError(
                f"Superset refused {username!r} at {self.base_url} ({response.status_code}: {response.text[:200]})",
                "run `pulse superset init` (it creates the administrator and resets the password to the setting)",
            )
        self.http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        self.http.headers["X-CSRFToken"] = self.get("/api/v1/security/csrf_token/")["result"]

    def __enter__(self) -> SupersetClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except (httpx.ReadError, httpx.RemoteProtocolError):
            if method != "GET":
                raise
            # A kept-alive connection the server had just closed: a read is safe to send again, once.
            response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise SupersetError(
                f"Superset: {method} {path} -> {response.status_code}: {response.text[:2000]}",
                f"see Superset's log ({self.base_url})",
            )
        return response

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None).json()

    def post(self, path: str, payload: Any) -> Any:
        return self.request("POST", path, json=payload).json()

    def put(self, path: str, payload: Any) -> Any:
        return self.request("PUT", path, json=payload).json()

    def delete(self, path: str) -> None:
        self.request("DELETE", path)

    def listing(self, resource: str, **query: Any) -> Iterator[dict[str, Any]]:
        """Every row of a listing (`chart`, `dashboard`, `dataset`, `security/roles`, ...), page by page."""
        page = 0
        while True:
            q = rison({**query, "page": page, "page_size": PAGE_SIZE})
            rows = self.get(f"/api/v1/{resource}/", q=q)["result"]
            yield from rows
            if len(rows) < PAGE_SIZE:
                return
            page += 1

    def import_bundle(self, bundle: bytes, passwords: dict[str, str]) -> None:
        """POST /api/v1/assets/import/: creates or overwrites every object in the bundle (matched by uuid)."""
        self.request(
            "POST",
            "/api/v1/assets/import/",
            files={"bundle": ("pulse_assets.zip", bundle, "application/zip")},
            data={"passwords": json.dumps(passwords)},
        )

    def export_bundle(self) -> bytes:
        return self.request("GET", "/api/v1/assets/export/").content

    def chart_data(self, chart_id: int, *, force: bool = False, result_type: str = "full") -> list[dict[str, Any]]:
        """The chart's saved query context run by Superset: one result per query (rows under `data`)."""
        params = {"type": result_type, **({"force": "true"} if force else {})}
        results: list[dict[str, Any]] = self.get(f"/api/v1/chart/{chart_id}/data/", **params)["result"]
        return results
