"""Fixtures of the report tests: a warehouse built the way production builds it (simulated business ->
operational store -> extract-load -> dbt build), once per test worker, plus a few recipients added to the
store before the build for the hard cases:

- a customer with a thousand ledger entries in one month (a statement of many pages),
- a customer and a hospital with no activity at all (a correct, zero statement),
- a counterparty with many invoices and payments in USD (a long settlement statement),
- a counterparty with an invoice dated before the first published EUR rate (no FX rate: an error).

Tests that use `report_warehouse` should carry `pytestmark = pytest.mark.xdist_group("reports")` so that
pytest-xdist runs them on one worker and the build happens once.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from extractors.feeds import load_feeds
from extractors.pipeline import extract
from operational_api.db import Store
from operational_api.models import (
    AccountEntry,
    Counterparty,
    Customer,
    Hospital,
    Invoice,
    InvoiceRefusal,
    Machine,
    Payment,
    Product,
    VendTransaction,
)
from pulse.core.settings import Settings
from pulse.dbt.runner import run_dbt
from tests.conftest import WarehouseProcess, free_port

PERIOD = "2026-03"  # the simulated month (tests/simulator/conftest.py END = 2026-03-31, 30 days)
UTC = dt.UTC


@dataclass
class ReportWarehouse:
    """A built warehouse (real server process) and the ids of the synthetic recipients."""

    settings: Settings
    server: WarehouseProcess
    ids: dict[str, int] = field(default_factory=dict)

    def client(self) -> Any:
        from warehouse.client import connect

        return connect(self.settings)


def add_hard_cases(store: Store) -> dict[str, int]:
    """Recipients that stress the statements, written through the ORM like any client write."""
    with store.write() as session:
        machine = session.scalars(select(Machine).order_by(Machine.id).limit(1)).one()
        products = session.scalars(select(Product).order_by(Product.id).limit(4)).all()
        plan_id = session.scalars(select(Hospital.commission_plan_id).where(Hospital.id == machine.hospital_id)).one()

        # A customer with a thousand entries in March: payroll top-ups and kit purchases, all in RUB.
        busy = Customer(
            client_id="9900001", full_name="Большакова Анна Сергеевна", role="doctor",
            email="anna.bolshakova@example.ru", locale="ru", currency="RUB", statement_email_consent=True,
            home_hospital_id=machine.hospital_id, pin_hash="-", registered_at=dt.datetime(2026, 2, 1, tzinfo=UTC),
        )  # fmt: skip
        quiet = Customer(
            client_id="9900002", full_name="Тихонов Пётр", role="nurse", email="petr.tikhonov@example.ru",
            locale="ru", currency="RUB", statement_email_consent=True, home_hospital_id=machine.hospital_id,
            pin_hash="-", registered_at=dt.datetime(2026, 3, 10, tzinfo=UTC),
        )  # fmt: skip
        session.add_all([busy, quiet])
        session.flush()
        start = dt.datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
        for n in range(1000):
            at = start + dt.timedelta(minutes=40 * n)  # 1000 entries over about 28 days
            if n % 50 == 0:
                session.add(
                    AccountEntry(customer_id=busy.id, kind="topup", source="payroll", amount=Decimal("20000.00"),
                                 currency="RUB", occurred_at=at, hospital_id=machine.hospital_id)
                )  # fmt: skip
                continue
            product = products[n % len(products)]
            vend_id = f"report-test-vend-{n:05d}"
            price = Decimal("374.00") + n % 3 * 10
            session.add(
                VendTransaction(id=vend_id, machine_id=machine.id, customer_id=busy.id, product_id=product.id,
                                quantity=1, unit_price=price, amount=price, currency="RUB", status="completed",
                                device_time=at, received_at=at, offline=False)
            )  # fmt: skip
            session.flush()
            session.add(
                AccountEntry(customer_id=busy.id, kind="vend", source="machine", amount=-price, currency="RUB",
                             occurred_at=at, vend_transaction_id=vend_id)
            )  # fmt: skip

        # A hospital that joined but has no machine yet: no sales, a zero statement.
        quiet_hospital = Hospital(
            code="H900", name="Госпиталь без продаж", city="Казань", region="Татарстан", time_zone="Europe/Moscow",
            commission_plan_id=plan_id,
        )  # fmt: skip
        session.add(quiet_hospital)

        # An assistance company invoiced many times in USD, most invoices paid within the month, a few refused in
        # part; it also billed the company once (a payable, paid).
        busy_cp = Counterparty(external_id="cp-900", name="Global Assist Ltd", kind="assistance", country="GB",
                               currency="USD")  # fmt: skip
        # A partner invoiced on 1 March 2026, a Sunday before the first published EUR rate of the window.
        no_rate_cp = Counterparty(external_id="cp-901", name="Euro Care GmbH", kind="partner_clinic", country="DE",
                                  currency="EUR")  # fmt: skip
        session.add_all([busy_cp, no_rate_cp])
        session.flush()
        for n in range(120):
            issued = dt.date(2026, 3, 2) + dt.timedelta(days=n % 26)
            amount = Decimal(1000 + 37 * n) + Decimal("0.45")
            invoice = Invoice(external_id=f"inv-900-{n:04d}", number=f"GA-2603-{n + 1:04d}", counterparty_id=busy_cp.id,
                              issued_on=issued, due_on=issued + dt.timedelta(days=30), amount=amount, currency="USD",
                              status="issued")  # fmt: skip
            session.add(invoice)
            session.flush()
            if n % 3 != 2:
                paid = amount if n % 3 == 0 else (amount / 2).quantize(Decimal("0.01"))
                invoice.status = "paid" if n % 3 == 0 else "partially_paid"
                session.add(
                    Payment(external_id=f"pay-900-{n:04d}", invoice_id=invoice.id, counterparty_id=busy_cp.id,
                            paid_on=min(issued + dt.timedelta(days=3), dt.date(2026, 3, 31)), amount=paid,
                            currency="USD")
                )  # fmt: skip
            elif n % 6 == 5:  # unpaid, and the company refused a tenth of it: written off, owed no more
                session.add(
                    InvoiceRefusal(external_id=f"ref-900-{n:04d}", invoice_id=invoice.id, refused_on=issued
                                   + dt.timedelta(days=2), amount=(amount / 10).quantize(Decimal("0.01")),
                                   currency="USD", reason="not_covered")
                )  # fmt: skip
        # The counterparty's own bill to the company (a payable), paid: not part of what it owes.
        bill = Invoice(external_id="bill-900-0001", number="GA-BILL-0001", counterparty_id=busy_cp.id,
                       issued_on=dt.date(2026, 3, 5), due_on=dt.date(2026, 3, 26), amount=Decimal("777.00"),
                       currency="USD", status="paid", direction="payable")  # fmt: skip
        session.add(bill)
        session.flush()
        session.add(
            Payment(external_id="pay-900-bill", invoice_id=bill.id, counterparty_id=busy_cp.id,
                    paid_on=dt.date(2026, 3, 9), amount=Decimal("777.00"), currency="USD")
        )  # fmt: skip
        session.add(
            Invoice(external_id="inv-901-0001", number="EC-2603-0001", counterparty_id=no_rate_cp.id,
                    issued_on=dt.date(2026, 3, 1), due_on=dt.date(2026, 3, 31), amount=Decimal("4200.00"),
                    currency="EUR", status="issued")
        )  # fmt: skip
        session.flush()
        return {
            "busy_customer": busy.id,
            "quiet_customer": quiet.id,
            "quiet_hospital": quiet_hospital.id,
            "busy_counterparty": busy_cp.id,
            "no_rate_counterparty": no_rate_cp.id,
        }


@pytest.fixture(scope="session")
def report_warehouse(simulated_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReportWarehouse]:
    """The simulated month plus the hard cases, extracted and built by dbt, served by a real warehouse."""
    home = tmp_path_factory.mktemp("reports") / "home"
    shutil.copytree(simulated_home, home)
    port = free_port()
    settings = Settings(
        home=home,
        ops_database_url=f"sqlite:///{home / 'ops.db'}",
        clickhouse_url=f"http://default:@127.0.0.1:{port}",
    )
    store = Store(settings=settings)
    ids = add_hard_cases(store)
    store.dispose()
    server = WarehouseProcess(home=home, port=port).start()
    try:
        extract(settings)
        load_feeds(server.client(), settings.resolved_landing_url)
        assert run_dbt(["build"], settings) == 0, "dbt build failed: see the output above"
        yield ReportWarehouse(settings, server, ids)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def report_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where rendered PDFs and their PNG pages are kept for a person to look at (PULSE_TEST_ARTIFACTS to keep
    them somewhere permanent)."""
    import os

    chosen = os.environ.get("PULSE_TEST_ARTIFACTS")
    path = Path(chosen) / "reports" if chosen else tmp_path_factory.mktemp("report-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


# Fixtures of the subscription and delivery tests (part B): a fresh store and a real SMTP sink per test.
from tests.reports.delivery_env import ops_template, reports_env  # noqa: E402, F401
