"""Fixtures of the subscription and delivery tests: the built report warehouse (shared, read-only for these
tests), a fresh operational store per test (a copy of a migrated empty one), and a real SMTP sink per test
on its own port whose outbox is a folder of .eml files."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from operational_api.db import Store
from operational_api.migrate import upgrade
from operational_api.models import ReportDelivery
from operational_api.services.reporting import create_subscription
from pulse.core.settings import Settings
from reports.delivery import RunReport, Subscription, find_subscription, run_subscription
from reports.sink import outbox_files, read_message, start_sink
from tests.conftest import free_port
from tests.reports.conftest import PERIOD, ReportWarehouse

# Customers with consent and an email, the synthetic hard cases left out (they render many pages).
CUSTOMERS_QUERY = """SELECT customer_id, email, locale, full_name AS name
FROM marts.dim_customers
WHERE statement_email_consent AND email != '' AND client_id NOT LIKE '99000%'
ORDER BY customer_id
LIMIT {limit}"""


@dataclass
class ReportsEnv:
    """Settings pointing at the report warehouse, a fresh store, and the sink's outbox."""

    settings: Settings
    store: Store
    outbox: Path
    warehouse: ReportWarehouse

    def subscribe(self, name: str, *, query: str | None = None, limit: int = 5, **values: Any) -> Subscription:
        row = create_subscription(
            self.store,
            self.settings,
            {
                "name": name,
                "report_kind": "customer_statement",
                "cron": "0 8 1 * *",
                "time_zone": "Europe/Moscow",
                "format": "pdf",
                "enabled": True,
                "recipient_query": query or CUSTOMERS_QUERY.format(limit=limit),
                **values,
            },
        )
        return find_subscription(self.store, row.id)

    def refresh(self, sub: Subscription) -> Subscription:
        return find_subscription(self.store, sub.id)

    def run(self, sub: Subscription, settings: Settings | None = None, **kwargs: Any) -> RunReport:
        kwargs.setdefault("period", PERIOD)
        return run_subscription(settings or self.settings, sub, **kwargs)

    def with_smtp_port(self, port: int) -> Settings:
        return self.settings.model_copy(update={"smtp_port": port})

    def customer_emails(self, limit: int) -> list[str]:
        """The addresses CUSTOMERS_QUERY returns, in its order."""
        rows = self.warehouse.client().query(f"SELECT lower(email) FROM ({CUSTOMERS_QUERY.format(limit=limit)})")
        return [str(r[0]) for r in rows.result_rows]

    def messages(self) -> list[EmailMessage]:
        return [read_message(path) for path in outbox_files(self.outbox)]

    def ledger(self, sub: Subscription) -> list[ReportDelivery]:
        with self.store.read() as session:
            query = select(ReportDelivery).where(ReportDelivery.subscription_id == sub.id)
            return list(session.scalars(query.order_by(ReportDelivery.id)))

    def env(self) -> dict[str, str]:
        """The environment a `pulse` child process needs to act on these settings."""
        s = self.settings
        return {
            "PULSE_HOME": str(s.home),
            "PULSE_OPS_DATABASE_URL": str(s.ops_database_url),
            "PULSE_CLICKHOUSE_URL": s.clickhouse_url,
            "PULSE_WAREHOUSE_READER_PASSWORD": s.reader_password(),
            "PULSE_SMTP_HOST": s.smtp_host,
            "PULSE_SMTP_PORT": str(s.smtp_port),
            "PULSE_REPORTS_PUBLIC_URL": str(s.reports_public_url),
            "PULSE_REPORTS_SECRET_KEY": "test-reports-key",
            "PULSE_REPORTS_WORKERS": str(s.reports_workers),
        }


@pytest.fixture(scope="session")
def ops_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty operational store at the head revision (subscriptions and ledger live there)."""
    path = tmp_path_factory.mktemp("ops-template") / "ops.db"
    upgrade(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def reports_settings(warehouse: ReportWarehouse, home: Path, smtp_port: int, **overrides: Any) -> Settings:
    (home / "ops.db").parent.mkdir(parents=True, exist_ok=True)
    values: dict[str, Any] = {
        "home": home,
        "ops_database_url": f"sqlite:///{home / 'ops.db'}",
        "clickhouse_url": warehouse.settings.clickhouse_url,
        "warehouse_reader_password": warehouse.settings.reader_password(),
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "reports_public_url": "http://reports.test",
        "reports_secret_key": "test-reports-key",
        "reports_workers": 1,
    }
    return Settings(**{**values, **overrides})


@pytest.fixture
def reports_env(report_warehouse: ReportWarehouse, ops_template: Path, tmp_path: Path) -> Iterator[ReportsEnv]:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ops_template, home / "ops.db")
    port = free_port()
    settings = reports_settings(report_warehouse, home, port)
    outbox = home / "outbox"
    sink = start_sink(outbox, "127.0.0.1", port)
    store = Store(settings=settings)
    try:
        yield ReportsEnv(settings, store, outbox, report_warehouse)
    finally:
        store.dispose()
        sink.stop()


__all__ = ["CUSTOMERS_QUERY", "PERIOD", "ReportsEnv", "ops_template", "reports_env", "reports_settings"]
