"""Fixtures of the portal tests: the built report warehouse (shared with tests/reports), a fresh operational store,
a real SMTP sink, and the API process with the portal (`pulse portal serve`) on its own port, with staff users.

Tests that use `portal` carry `pytestmark = pytest.mark.xdist_group("portal")`: one worker builds the warehouse
for them while the other runs tests/reports (its own group, its own build).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from operational_api.db import Store
from operational_api.models import SalesRep
from pulse.core.settings import Settings
from pulse.portal.auth import create_user
from reports.delivery import Subscription
from reports.sink import start_sink
from tests.conftest import free_port
from tests.polling import wait_until
from tests.reports.conftest import ReportWarehouse, report_artifacts, report_warehouse
from tests.reports.delivery_env import ReportsEnv, ops_template, reports_settings

__all__ = ["ops_template", "report_artifacts", "report_warehouse"]
PASSWORDS = {
    "admin": "admin-password-1234",
    "report_manager": "manager-password-1234",
    "sales_rep": "rep-password-1234",
}
EMAILS = {"admin": "admin@portal.test", "report_manager": "manager@portal.test"}


@dataclass
class Portal:
    """The running API process with the portal, its settings and store, and the sink's outbox."""

    env: ReportsEnv
    url: str
    process: subprocess.Popen[bytes]
    rep: dict[str, Any]  # the signed-in sales rep's warehouse row (id, email, hospitals)

    @property
    def settings(self) -> Settings:
        return self.env.settings

    @property
    def store(self) -> Store:
        return self.env.store

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=120)

    def sign_in(self, role: str, email: str | None = None) -> httpx.Client:
        """A client signed in as `role` (its session cookie set)."""
        client = self.client()
        page = client.get("/portal/sign-in")
        nonce = re.search(r'name="nonce" value="([^"]+)"', page.text)
        assert nonce is not None
        who = email or EMAILS.get(role) or self.rep["email"]
        answer = client.post("/portal/sign-in", data={"nonce": nonce[1], "email": who, "password": PASSWORDS[role]})
        assert answer.status_code == 303, answer.text
        return client

    def subscribe(self, name: str, **values: Any) -> Subscription:
        return self.env.subscribe(name, **values)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert match is not None, "the page has no CSRF token"
    return match[1]


def _first_rep(warehouse: ReportWarehouse) -> dict[str, Any]:
    rows = warehouse.client().query(
        "SELECT sales_rep_id, email, name, locale FROM marts.dim_sales_reps WHERE status = 'active' AND hospitals > 0 "
        "ORDER BY sales_rep_id LIMIT 1"
    )
    rep_id, email, name, locale = rows.result_rows[0]
    hospitals = warehouse.client().query(
        f"SELECT hospital_id FROM marts.dim_sales_rep_hospitals WHERE sales_rep_id = {int(rep_id)}"
    )
    return {"id": int(rep_id), "email": str(email).lower(), "name": str(name), "locale": str(locale),
            "hospitals": sorted(int(r[0]) for r in hospitals.result_rows)}  # fmt: skip


@pytest.fixture
def portal(report_warehouse: ReportWarehouse, ops_template: Path, tmp_path: Path) -> Iterator[Portal]:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ops_template, home / "ops.db")
    smtp_port, port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    settings = reports_settings(report_warehouse, home, smtp_port, reports_public_url=url, api_port=port)
    outbox = home / "outbox"
    sink = start_sink(outbox, "127.0.0.1", smtp_port)
    store = Store(settings=settings)
    env = ReportsEnv(settings, store, outbox, report_warehouse)
    rep = _first_rep(report_warehouse)
    with store.write() as session:  # the rep as the store knows them (the warehouse's copy came from a store)
        session.add(SalesRep(id=rep["id"], name=rep["name"], email=rep["email"], locale=rep["locale"]))
    for role, email in EMAILS.items():
        create_user(store, email=email, name=role.replace("_", " ").title(), role=role, password=PASSWORDS[role])
    create_user(store, email=rep["email"], name=rep["name"], role="sales_rep", password=PASSWORDS["sales_rep"],
                sales_rep_id=rep["id"])  # fmt: skip
    process_env = {**os.environ, **env.env(), "PULSE_API_PORT": str(port), "PULSE_API_HOST": "127.0.0.1",
                   "PULSE_REPORTS_PUBLIC_URL": url}  # fmt: skip
    process = subprocess.Popen([str(Path(sys.executable).parent / "pulse"), "portal", "serve"], env=process_env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        wait_until(lambda: _healthy(url) or process.poll() is not None, what="the portal answered", timeout=60)
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else "exited"
        yield Portal(env, url, process, rep)
    finally:
        process.terminate()
        process.wait(timeout=30)
        store.dispose()
        sink.stop()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
