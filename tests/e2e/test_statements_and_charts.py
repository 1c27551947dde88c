"""End to end, the last hops: after the final ELT (test_load_and_faults), every hospital's commission statement
goes through the real reports path (`pulse reports seed-defaults`, `run`, `run-due`) to a real SMTP sink, and
the PDFs it received are read back; Superset, started on the same warehouse, serves the commission charts.
Each hop agrees with the hospital commission mart to the cent, and the statements together account for every
completed vend of the fact table (and so of the operational store) exactly once.

The sink is down during the first report runs (connection refused): the runs fail, the ledger keeps every
statement failed and due for a retry, nothing is mailed. Once the sink is up, the retry the ledger scheduled
(`pulse reports run-due`, what the reports DAG runs) mails each statement exactly once, and later runs mail
nothing more."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from operational_api.models import ReportDelivery, ReportSubscription
from pulse.core import processes
from pulse.core.settings import Settings
from pulse.superset import runtime as superset_runtime
from pulse.superset.assets import ASSETS_DIR, import_assets, load_assets
from reports import sink
from tests.conftest import SUPERSET_PYTHON, free_port
from tests.e2e.stack import Stack, store_totals, warehouse_totals
from tests.pulse.superset.conftest import SupersetStack, chart_ids
from tests.pulse.superset.test_chart_data import rows as chart_rows
from tests.reports.pdf_text import amount_after, integer_after, pages_text, to_decimal
from tests.reports.test_render_numbers import LABELS

pytestmark = pytest.mark.xdist_group("e2e")

SUBSCRIPTION = "hospital-monthly-statements"  # one of reports/defaults.py, created by `pulse reports seed-defaults`
RETRY_SECONDS = 2  # the ledger's first retry wait: short, so the recovery is the retry the failed run scheduled
CENT = Decimal("0.01")
# The statement's note on the sales it counts, whitespace flattened (reports/messages: hospital.sales_note).
COMPLETED_VENDS = {
    "en": re.compile(r"(\d{1,3}(?:,\d{3})*) completed purchases"),
    "ru": re.compile(r"Заверш\S* покупок: (\d{1,3}(?: \d{3})*);"),
}


@dataclass(frozen=True)
class Line:
    """What a statement states for one hospital and month: completed vends, kits, net sales, commission."""

    completed_vends: int
    kits_sold: int
    net_sales: Decimal
    commission: Decimal


NO_SALES = Line(0, 0, Decimal("0.00"), Decimal("0.00"))


@dataclass(frozen=True)
class Marts:
    """The warehouse after the final ELT, queried directly (not through the report loaders)."""

    periods: list[str]  # months with a commission line, YYYY-MM
    lines: dict[tuple[int, str], Line]  # (hospital_id, period) -> the mart's line
    names: dict[int, str]  # hospital_id -> hospital_name
    recipients: set[tuple[str, str]]  # (email, period) a statement is due to: report contacts x periods
    fact_by_hospital: dict[int, tuple[int, Decimal]]  # completed vends and their amount in the reporting currency


@pytest.fixture(scope="module")
def marts(stack: Stack) -> Marts:
    client = stack.warehouse.client()
    if not int(client.command("EXISTS TABLE marts.mart_hospital_commissions_monthly")):
        # This module run on its own: the final ELT test_load_and_faults ends with.
        stack.pulse("extract")
        stack.pulse("extract", "feeds")
        stack.pulse("dbt", "build")
    lines, names = {}, {}
    for hospital_id, name, period, vends, kits, net, commission in client.query(
        "SELECT hospital_id, hospital_name, period_label, completed_vends, kits_sold, net_sales_reporting, commission_reporting"
        " FROM marts.mart_hospital_commissions_monthly"
    ).result_rows:
        lines[(int(hospital_id), str(period))] = Line(int(vends), int(kits), Decimal(net), Decimal(commission))
        names[int(hospital_id)] = str(name)
    periods = sorted({period for _, period in lines})
    contacts = client.query("SELECT DISTINCT lower(email) FROM marts.dim_report_contacts").result_rows
    fact = client.query(
        "SELECT m.hospital_id, count(), sum(f.amount_reporting) FROM marts.fct_vend_transactions AS f"
        " INNER JOIN marts.dim_machines AS m ON m.machine_id = f.machine_id WHERE f.is_completed GROUP BY m.hospital_id"
    ).result_rows
    return Marts(
        periods=periods,
        lines=lines,
        names=names,
        recipients={(str(email), period) for (email,) in contacts for period in periods},
        fact_by_hospital={int(h): (int(n), Decimal(amount)) for h, n, amount in fact},
    )


def test_the_warehouse_keeps_the_us_business_calendar_and_currency(stack: Stack, marts: Marts) -> None:
    """The stack's business (us-vending): weeks start on Sunday, fiscal years in July, money in USD."""
    client = stack.warehouse.client()
    calendar = {
        str(day): (str(week), int(year), int(quarter))
        for day, week, year, quarter in client.query(
            "SELECT date_day, week_start, fiscal_year, fiscal_quarter FROM marts.dim_date"
            " WHERE date_day IN ('2026-03-11', '2026-06-30', '2026-07-01', '2027-01-15')"
        ).result_rows
    }
    assert calendar == {
        "2026-03-11": ("2026-03-08", 2026, 3), "2026-06-30": ("2026-06-28", 2026, 4),
        "2026-07-01": ("2026-06-28", 2027, 1), "2027-01-15": ("2027-01-10", 2027, 3),
    }  # fmt: skip
    weekdays = client.query("SELECT DISTINCT toDayOfWeek(week_start) FROM marts.mart_executive_kpis_daily").result_rows
    assert weekdays == [(7,)]  # Sunday
    currencies = client.query("SELECT DISTINCT currency FROM marts.mart_hospital_commissions_monthly").result_rows
    assert currencies == [("USD",)]
    accounts = client.query("SELECT DISTINCT currency FROM marts.mart_customer_spend_monthly ORDER BY 1").result_rows
    assert accounts == [("CAD",), ("MXN",), ("USD",)]


# -- Superset starts in the background first: its minute of start-up overlaps the report runs --------------
@dataclass
class SupersetBoot:
    settings: Settings
    thread: threading.Thread | None = None
    failures: list[BaseException] = field(default_factory=list)

    def run(self) -> None:
        try:
            superset_runtime.init(self.settings)
            superset_runtime.start(self.settings)
        except BaseException as err:  # re-raised by ready(), in the test that needs Superset
            self.failures.append(err)

    def ready(self) -> Settings:
        if self.thread is not None:
            self.thread.join()
        if self.failures:
            raise self.failures[0]
        return self.settings


@pytest.fixture(scope="module")
def superset_boot(stack: Stack, request: pytest.FixtureRequest) -> Iterator[SupersetBoot]:
    boot = SupersetBoot(stack.settings.model_copy(update={"superset_port": free_port(), "superset_workers": 1}))
    wanted = any(
        item.get_closest_marker("superset") and getattr(item, "module", None) is request.module
        for item in request.session.items
    )
    if not wanted:  # `-m "not superset"`: no test of this module will ask for it
        boot.failures.append(RuntimeError("Superset was not started: no selected test needs it"))
    elif SUPERSET_PYTHON.exists():
        boot.thread = threading.Thread(target=boot.run, name="superset-start")
        boot.thread.start()
    else:
        boot.failures.append(RuntimeError(f"{SUPERSET_PYTHON} is missing: run `make install` (.venv-superset)"))
    try:
        yield boot
    finally:
        if boot.thread is not None:
            boot.thread.join()
            superset_runtime.stop(boot.settings)


# -- the statements, mailed through an outage of the sink ---------------------------------------------------
@dataclass(frozen=True)
class LedgerRow:
    id: int
    email: str
    period: str
    hospital_id: int
    locale: str
    state: str
    attempts: int
    message_id: str | None
    next_attempt_at: dt.datetime | None
    last_error: str | None


def ledger_row(r: ReportDelivery) -> LedgerRow:
    return LedgerRow(r.id, r.email, r.period, int(r.params["hospital_id"]), r.locale, r.state, r.attempts,
                     r.message_id, r.next_attempt_at, r.last_error)  # fmt: skip


def ledger_rows(stack: Stack) -> list[LedgerRow]:
    with stack.store.read() as session:
        subscription = session.scalars(
            select(ReportSubscription.id).where(
                ReportSubscription.name == SUBSCRIPTION, ReportSubscription.deleted_at.is_(None)
            )
        ).one()
        query = select(ReportDelivery).where(ReportDelivery.subscription_id == subscription)
        return [ledger_row(r) for r in session.scalars(query.order_by(ReportDelivery.id))]


@dataclass(frozen=True)
class Mailed:
    outage_runs: list[subprocess.CompletedProcess[str]]  # `pulse reports run` per period, the sink down
    ledger_in_outage: list[LedgerRow]
    outbox_in_outage: list[Path]
    recovery: subprocess.CompletedProcess[str]  # `pulse reports run-due` once the sink is up again
    ledger: list[LedgerRow]
    outbox: list[Path]
    reruns: list[subprocess.CompletedProcess[str]]  # every period run again, then run-due again
    ledger_after_reruns: list[LedgerRow]
    outbox_after_reruns: list[Path]

    def messages(self) -> list[EmailMessage]:
        return [sink.read_message(path) for path in self.outbox]


def output(done: subprocess.CompletedProcess[str]) -> str:
    return re.sub(r"\s+", " ", done.stdout + done.stderr)


@pytest.fixture(scope="module")
def mailed(stack: Stack, superset_boot: SupersetBoot, marts: Marts) -> Iterator[Mailed]:
    """Statements mailed through an outage of the sink. `superset_boot` is asked for (first) only so that
    Superset's start-up runs while the statements are rendered and mailed."""
    port = free_port()  # nothing listens here until the sink starts: connections are refused
    settings = stack.settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
    smtp_sink, outbox = sink.service(settings), sink.outbox_dir(settings)
    saved_env = dict(stack.extra_env)
    stack.extra_env.update({"PULSE_SMTP_HOST": "127.0.0.1", "PULSE_SMTP_PORT": str(port), "PULSE_REPORTS_WORKERS": "1",
                            "PULSE_REPORTS_RETRY_SECONDS": str(RETRY_SECONDS), "COLUMNS": "200"})  # fmt: skip
    try:
        stack.pulse("reports", "seed-defaults")
        run_periods = [("reports", "run", SUBSCRIPTION, "--period", period) for period in marts.periods]
        outage_runs = [stack.pulse(*args, check=False) for args in run_periods]
        ledger_in_outage, outbox_in_outage = ledger_rows(stack), sink.outbox_files(outbox)

        processes.start(smtp_sink, settings)
        # Wait for the moment the failed runs scheduled their retry (read from the ledger, not guessed).
        due = max((r.next_attempt_at for r in ledger_in_outage if r.next_attempt_at), default=None)
        if due is not None:
            time.sleep(max((due - dt.datetime.now(dt.UTC)).total_seconds(), 0) + 0.5)
        recovery = stack.pulse("reports", "run-due", check=False)
        ledger, outbox_files = ledger_rows(stack), sink.outbox_files(outbox)

        reruns = [stack.pulse(*args, check=False) for args in run_periods]
        reruns.append(stack.pulse("reports", "run-due", check=False))
        yield Mailed(outage_runs, ledger_in_outage, outbox_in_outage, recovery, ledger, outbox_files, reruns,
                     ledger_rows(stack), sink.outbox_files(outbox))  # fmt: skip
    finally:
        stack.extra_env.clear()
        stack.extra_env.update(saved_env)
        processes.stop(smtp_sink, settings)


def test_statements_fail_and_wait_for_a_retry_while_the_sink_is_down(marts: Marts, mailed: Mailed) -> None:
    assert marts.periods and mailed.outage_runs
    for run in mailed.outage_runs:
        assert run.returncode == 1, output(run)
        assert "cannot reach the SMTP server" in output(run), output(run)
    ledger = mailed.ledger_in_outage
    assert {(r.email, r.period) for r in ledger} == marts.recipients and len(ledger) == len(marts.recipients)
    for row in ledger:  # failed before anything was handed over: retryable, never claimed, no Message-ID
        assert row.state == "failed" and row.attempts >= 1 and row.next_attempt_at is not None, row
        assert row.message_id is None and "Connection refused" in (row.last_error or ""), row
    assert mailed.outbox_in_outage == []


def test_each_statement_is_mailed_exactly_once_once_the_sink_is_back(mailed: Mailed) -> None:
    assert mailed.recovery.returncode == 0, output(mailed.recovery)
    ledger = mailed.ledger
    assert [(r.id, r.email, r.period) for r in ledger] == [(r.id, r.email, r.period) for r in mailed.ledger_in_outage]
    assert Counter(r.state for r in ledger) == {"sent": len(ledger)}
    messages = mailed.messages()
    message_ids = [str(m["Message-ID"]) for m in messages]
    assert len(message_ids) == len(set(message_ids)) == len(ledger)
    assert set(message_ids) == {r.message_id for r in ledger}
    by_id = {r.message_id: r for r in ledger}
    delivered = Counter((str(m["X-Pulse-Envelope-To"]), by_id[str(m["Message-ID"])].period) for m in messages)
    assert delivered == Counter({(r.email, r.period): 1 for r in ledger})

    # Running every period again, and the retries again, mails nothing more and changes no ledger row.
    for run in mailed.reruns:
        assert run.returncode == 0, output(run)
    assert "nothing is due" in output(mailed.reruns[-1])
    assert mailed.outbox_after_reruns == mailed.outbox
    assert mailed.ledger_after_reruns == mailed.ledger


def printed_line(pdf: Path, locale: str, currency: str) -> Line:
    """The figures a delivered statement prints, read back from the PDF's text (money headed in `currency`)."""
    text = "\n".join(pages_text(pdf))
    labels = {name: label.replace(", RUB", f", {currency}") for name, label in LABELS[locale].items()}
    vends = COMPLETED_VENDS[locale].search(re.sub(r"\s+", " ", text))
    assert vends, f"{pdf.name}: no count of completed purchases"
    return Line(
        completed_vends=int(to_decimal(vends.group(1), locale)),
        kits_sold=integer_after(text, labels["kits_sold"], locale),
        net_sales=amount_after(text, labels["net_sales"], locale),
        commission=amount_after(text, labels["commission"], locale),
    )


def test_every_completed_vend_is_in_exactly_one_mailed_statement(
    stack: Stack, marts: Marts, mailed: Mailed, tmp_path: Path
) -> None:
    ops = store_totals(stack.store)
    assert warehouse_totals(stack)["fact"] == ops  # the hops before: store == raw == fact (test_load_and_faults)

    by_id = {r.message_id: r for r in mailed.ledger}
    printed: dict[tuple[int, str], list[Line]] = defaultdict(list)
    for message in mailed.messages():
        row = by_id[str(message["Message-ID"])]
        (attachment,) = message.iter_attachments()
        assert attachment.get_content_type() == "application/pdf"
        pdf = tmp_path / f"{row.id}-{attachment.get_filename()}"
        pdf.write_bytes(attachment.get_content())
        printed[(row.hospital_id, row.period)].append(printed_line(pdf, row.locale, stack.settings.business.currency))

    # Every hospital with a commission line got its statement for the month, and each copy states the line.
    assert set(marts.lines) <= set(printed)
    wrong = {key: lines for key, lines in printed.items() if set(lines) != {marts.lines.get(key, NO_SALES)}}
    assert wrong == {}, {key: (marts.lines.get(key, NO_SALES), lines) for key, lines in wrong.items()}

    # One copy per hospital and month: together they hold each hospital's completed vends of the fact table.
    by_hospital: dict[int, tuple[int, Decimal]] = {}
    for (hospital_id, _), lines in printed.items():
        vends, amount = by_hospital.get(hospital_id, (0, Decimal("0.00")))
        by_hospital[hospital_id] = (vends + lines[0].completed_vends, amount + lines[0].net_sales)
    with_sales = {h: totals for h, totals in by_hospital.items() if totals[0]}
    assert with_sales == marts.fact_by_hospital
    assert sum(vends for vends, _ in with_sales.values()) == ops.rows
    fact_reporting = Decimal(
        stack.warehouse.client().command(
            "SELECT sum(amount_reporting) FROM marts.fct_vend_transactions WHERE is_completed"
        )
    )
    assert sum((amount for _, amount in with_sales.values()), Decimal("0.00")) == fact_reporting


# -- Superset ---------------------------------------------------------------------------------------------
def cents(value: Any) -> Decimal:
    """A money figure from Superset's JSON (a float) back to cents; it must have been one to begin with."""
    exact = Decimal(repr(float(value)))
    assert abs(exact - exact.quantize(CENT)) < Decimal("0.000001"), value
    return exact.quantize(CENT)


def charted_line(row: dict[str, Any]) -> tuple[int, Decimal, Decimal]:
    """Kits, net sales and commission of a row of the commission statements table chart."""
    return int(row["total_kits_sold"]), cents(row["net_sales"]), cents(row["commission"])


@pytest.mark.superset
def test_superset_commission_charts_equal_the_mart(stack: Stack, marts: Marts, superset_boot: SupersetBoot) -> None:
    superset = SupersetStack(superset_boot.ready(), stack.warehouse)
    try:
        import_assets(superset.admin(), superset.settings)
        charts = chart_ids(superset.admin(), load_assets(ASSETS_DIR).files)

        statements = chart_rows(superset, charts, "comm_statements")  # one row per hospital and month
        charted = {(r["hospital_name"], r["period_label"]): charted_line(r) for r in statements}
        expected = {
            (marts.names[h], period): (line.kits_sold, line.net_sales, line.commission)
            for (h, period), line in marts.lines.items()
        }
        assert len(statements) == len(charted) and charted == expected

        commission_by_hospital: dict[str, Decimal] = defaultdict(Decimal)
        for (h, _), line in marts.lines.items():
            commission_by_hospital[marts.names[h]] += line.commission
        top = {r["hospital_name"]: cents(r["commission"]) for r in chart_rows(superset, charts, "comm_top_hospitals")}
        assert top == dict(sorted(commission_by_hospital.items(), key=lambda kv: kv[1], reverse=True)[:15])

        [big_number] = chart_rows(superset, charts, "comm_net_sales")
        net_sales = cents(big_number["net_sales"])
        assert net_sales == sum((line.net_sales for line in marts.lines.values()), Decimal(0))
        assert net_sales == sum((amount for _, amount in marts.fact_by_hospital.values()), Decimal(0))
    finally:
        for client in superset.clients.values():
            client.close()
