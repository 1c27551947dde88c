"""The numbers printed in each statement equal the marts and the metrics layer: the PDF's text is extracted and its
amounts compared with rows queried from the warehouse (independently of the loaders, straight from the mart
tables) and with the layer's metrics for the recipient and period (what the dashboards and the API show)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pulse import metrics
from reports.executive_weekly import KPIS, MART
from reports.formatting import Formatter
from reports.render import render_report
from tests.reports.conftest import PERIOD, ReportWarehouse
from tests.reports.pdf_text import AMOUNT, amount_after, amounts, integer_after, pages_text, to_decimal

pytestmark = pytest.mark.xdist_group("reports")
MONTH = dt.date.fromisoformat(f"{PERIOD}-01")
LABELS = {
    "en": {"opening": "Opening balance", "topups": "Top-ups", "spend": "Kits bought", "refunds": "Refunds",
           "adjustments": "Adjustments", "closing": "Closing balance", "kits_sold": "Kits sold",
           "net_sales": "Net sales, RUB", "commission": "Commission, RUB", "rate": "Rate"},
    "ru": {"opening": "Входящий остаток", "topups": "Пополнения", "spend": "Покупки комплектов", "refunds": "Возвраты",
           "adjustments": "Корректировки", "closing": "Исходящий остаток", "kits_sold": "Продано комплектов",
           "net_sales": "Выручка, RUB", "commission": "Вознаграждение, RUB", "rate": "Ставка"},
}  # fmt: skip


def rows(client: Any, sql: str, **parameters: Any) -> list[dict[str, Any]]:
    result = client.query(sql, parameters=parameters)
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def layer_values(client: Any, mart: str, dimension: str, value: int, month: dt.date) -> dict[str, Any]:
    """Every metric of a mart for one recipient and month, compiled by the metrics layer as dashboards ask it."""
    layer = [m for m in metrics.project_metrics() if m.model == mart]
    query = metrics.compile_metrics(layer, [], {dimension: str(value)}, metrics.month(month))
    (values,) = rows(client, query.sql, **query.parameters)
    return values


def rendered_text(client: Any, kind: str, params: dict[str, str], locale: str, tmp_path: Path) -> str:
    report = render_report(client, kind, params, locale)
    pdf = tmp_path / report.filename
    pdf.write_bytes(report.pdf)
    pages = pages_text(pdf)
    assert len(pages) == report.pages
    return "\n".join(pages)


def ledger_rows(text: str) -> list[tuple[Decimal, Decimal]]:
    """(amount, balance) of every ledger line of an English statement: a line starts with its date, and may
    wrap; its last two amounts are the entry and the running balance."""
    entries = re.split(r"\n(?=\d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d )", text)
    out = []
    for entry in entries[1:]:
        entry = entry.split("\nClosing balance", 1)[0].split("\nAccount statement ·", 1)[0]
        found = AMOUNT["en"].findall(entry)
        out.append((to_decimal(found[-2], "en"), to_decimal(found[-1], "en")))
    return out


@pytest.fixture(scope="module")
def client(report_warehouse: ReportWarehouse) -> Any:
    return report_warehouse.client()


@pytest.fixture(scope="module")
def busiest_customers(client: Any, report_warehouse: ReportWarehouse) -> list[dict[str, Any]]:
    """Three simulated customers with many entries in the month, refunds and adjustments among them."""
    return rows(
        client,
        "SELECT * FROM marts.mart_customer_spend_monthly WHERE month = {m:Date} AND customer_id != {busy:Int64}"
        " ORDER BY refunds != 0 DESC, adjustments != 0 DESC, ledger_entries DESC LIMIT 3",
        m=MONTH,
        busy=report_warehouse.ids["busy_customer"],
    )


@pytest.mark.parametrize("locale", ["en", "ru"])
def test_customer_statement_totals_equal_the_mart(
    client: Any, busiest_customers: list[dict[str, Any]], locale: str, tmp_path: Path
) -> None:
    labels = LABELS[locale]
    for mart in busiest_customers:
        params = {"customer_id": str(mart["customer_id"]), "period": PERIOD}
        text = rendered_text(client, "customer_statement", params, locale, tmp_path)
        assert mart["full_name"] in text and mart["client_id"] in text
        assert amount_after(text, labels["opening"], locale) == mart["opening_balance"]
        assert amount_after(text, labels["topups"], locale) == mart["topups"]
        assert amount_after(text, labels["spend"], locale) == mart["gross_vend_spend"]
        assert amount_after(text, labels["refunds"], locale) == mart["refunds"]
        assert amount_after(text, labels["adjustments"], locale) == mart["adjustments"]
        assert amount_after(text, labels["closing"], locale) == mart["closing_balance"]
        figures = layer_values(client, "mart_customer_spend_monthly", "customer_id", mart["customer_id"], MONTH)
        assert amount_after(text, labels["topups"], locale) == figures["account_topups"]
        assert amount_after(text, labels["spend"], locale) == figures["account_gross_vend_spend"]
        assert amount_after(text, labels["closing"], locale) == figures["customer_balances"]


def test_customer_statement_lines_add_up_to_the_mart(
    client: Any, busiest_customers: list[dict[str, Any]], tmp_path: Path
) -> None:
    for mart in busiest_customers:
        params = {"customer_id": str(mart["customer_id"]), "period": PERIOD}
        text = rendered_text(client, "customer_statement", params, "en", tmp_path)
        lines = ledger_rows(text)
        assert len(lines) == mart["ledger_entries"]
        assert sum(amount for amount, _ in lines) == mart["closing_balance"] - mart["opening_balance"]
        balance = mart["opening_balance"]
        for amount, printed_balance in lines:  # every running balance is right, not just the last
            balance += amount
            assert printed_balance == balance
        assert balance == mart["closing_balance"]


@pytest.mark.parametrize("locale", ["en", "ru"])
def test_hospital_statement_equals_the_commission_mart(client: Any, locale: str, tmp_path: Path) -> None:
    labels = LABELS[locale]
    for mart in rows(
        client,
        "SELECT * FROM marts.mart_hospital_commissions_monthly WHERE sales_month = {m:Date} ORDER BY hospital_id",
        m=MONTH,
    ):
        params = {"hospital_id": str(mart["hospital_id"]), "period": PERIOD}
        text = rendered_text(client, "hospital_statement", params, locale, tmp_path)
        assert integer_after(text, labels["kits_sold"], locale) == mart["kits_sold"]
        assert amount_after(text, labels["net_sales"], locale) == mart["net_sales_reporting"]
        assert amount_after(text, labels["commission"], locale) == mart["commission_reporting"]
        rate = re.search(rf"{labels['rate']}\s+([\d.,]+)\s?%", text, re.IGNORECASE)
        assert rate and to_decimal(rate.group(1), locale) == mart["commission_rate"] * 100
        figures = layer_values(client, "mart_hospital_commissions_monthly", "hospital_id", mart["hospital_id"], MONTH)
        assert integer_after(text, labels["kits_sold"], locale) == figures["total_kits_sold"]
        assert amount_after(text, labels["net_sales"], locale) == figures["net_sales"]
        assert amount_after(text, labels["commission"], locale) == figures["commission"]
        if locale == "ru":
            continue  # in Russian, digit groups and columns are both separated by spaces: parse lines in English
        machines = rows(
            client,
            "SELECT machine_serial, sum(kits_sold) AS kits, sum(revenue_reporting) AS revenue FROM marts.mart_vending_daily"
            " WHERE hospital_id = {h:Int64} AND toStartOfMonth(day) = {m:Date} GROUP BY machine_serial",
            h=mart["hospital_id"],
            m=MONTH,
        )
        for machine in machines:  # each machine's line: its net sales are the last amount on its line
            line = next(x for x in text.splitlines() if x.startswith(machine["machine_serial"] + " "))
            assert amounts(line, locale)[-1] == machine["revenue"]


def test_executive_weekly_equals_the_kpi_mart(client: Any, tmp_path: Path) -> None:
    week, monday = "2026-W12", dt.date(2026, 3, 16)
    text = rendered_text(client, "executive_weekly", {"week": week}, "en", tmp_path)
    (sums,) = rows(
        client,
        "SELECT sum(vending_revenue_reporting) AS revenue, sum(kits_sold) AS kits, sum(leads) AS leads,"
        " sum(invoiced_reporting) AS invoiced, sum(paid_visits) AS paid, sum(ad_spend_reporting) AS spend,"
        " sum(authorisation_declines) AS declines"
        " FROM marts.mart_executive_kpis_daily WHERE day BETWEEN {a:Date} AND {b:Date}",
        a=monday,
        b=monday + dt.timedelta(days=6),
    )
    (auths,) = rows(
        client,
        "SELECT sum(authorisations) AS n FROM marts.mart_vending_daily WHERE day BETWEEN {a:Date} AND {b:Date}",
        a=monday,
        b=monday + dt.timedelta(days=6),
    )
    table = text.split("All indicators", 1)[1]

    def this_week(label: str) -> str:
        line = next(x for x in table.splitlines() if x.startswith(label + " ") and x[len(label) + 1].isdigit())
        return line[len(label) :].split()[0]

    assert to_decimal(this_week("Vending revenue, RUB"), "en") == sums["revenue"].quantize(Decimal(1))
    assert to_decimal(this_week("Kits sold"), "en") == sums["kits"]
    assert to_decimal(this_week("Leads"), "en") == sums["leads"]
    assert to_decimal(this_week("Paid visits"), "en") == sums["paid"]
    assert to_decimal(this_week("Invoiced to counterparties, RUB"), "en") == sums["invoiced"].quantize(Decimal(1))
    assert to_decimal(this_week("Advertising spend, RUB"), "en") == sums["spend"].quantize(Decimal(1))
    # A week's rate is the ratio of the week's sums (with the authorisations of the vending mart), not a mean of days.
    decline_rate = Decimal(this_week("Decline rate").rstrip("%"))
    assert decline_rate == (Decimal(sums["declines"]) / auths["n"] * 100).quantize(Decimal("0.1"))

    # Every KPI the report prints is its metric for the week, as the layer (and so the dashboard) computes it.
    layer = metrics.named(MART, *(k.metric for k in KPIS))
    query = metrics.compile_metrics(layer, [], {}, (monday, monday + dt.timedelta(days=7)))
    (week_values,) = rows(client, query.sql, **query.parameters)
    fmt = Formatter("en")
    for metric in layer:
        label = metric.label + (", RUB" if metric.unit == "money" else "")
        assert this_week(label) == fmt.metric(week_values[metric.name], metric.format), metric.name


@pytest.mark.parametrize("locale", ["en", "ru"])
def test_counterparty_statement_equals_receivables(
    client: Any, report_warehouse: ReportWarehouse, locale: str, tmp_path: Path
) -> None:
    counterparty_id = report_warehouse.ids["busy_counterparty"]
    params = {"counterparty_id": str(counterparty_id), "period": PERIOD}
    text = rendered_text(client, "counterparty_statement", params, locale, tmp_path)
    invoices = rows(
        client,
        "SELECT * FROM marts.mart_receivables WHERE counterparty_id = {c:Int64} ORDER BY invoice_number",
        c=counterparty_id,
    )
    assert len(invoices) == 120
    for invoice in invoices:  # the invoice's line: amount in USD, its rate, and mart_receivables.amount_reporting
        line = next(x for x in text.splitlines() if x.startswith(invoice["invoice_number"] + " "))
        # In Russian a rate (91,0568) is followed by a space-grouped amount: cut at the rate's 4 decimals.
        amount_part, rub_part = re.split(r"\d+\.\d{4} " if locale == "en" else r"\d+,\d{4} ", line)
        assert amounts(amount_part, locale) == [invoice["amount"]]
        assert amounts(rub_part, locale) == [invoice["amount_reporting"]]
    # Every payment and refusal of this counterparty came within the month, so what it owes at the month's end is
    # what the mart says is outstanding today: invoiced - paid - refused (the refusals are written off).
    outstanding = sum(i["outstanding_amount"] for i in invoices)
    refused = sum(i["refused_amount"] for i in invoices)
    assert refused > 0 and sum(i["refusals"] for i in invoices) == 20
    refused_total = next(x for x in text.splitlines() if x.startswith(("Total, USD", "Итого, USD")) and
                         amounts(x, locale)[0] == refused)  # fmt: skip
    assert amounts(refused_total, locale)[-1] == sum(i["refused_reporting"] for i in invoices)
    # Its bill to the company (a payable) and the company's payment of it are no part of what it owes.
    assert "GA-BILL-0001" not in text
    totals = [amounts(x, locale)[0] for x in text.splitlines() if x.startswith(("Total, USD", "Итого, USD"))]
    assert sum(i["paid_amount"] for i in invoices) in totals  # the payments received, without the 777.00 paid out
    owed_label = "Balance owed at 31 Mar 2026" if locale == "en" else "Задолженность на 31.03.2026"
    assert amount_after(text, owed_label, locale) == outstanding
    total_invoiced = sum(i["amount"] for i in invoices)
    total_invoiced_reporting = sum(i["amount_reporting"] for i in invoices)
    total_line = next(x for x in text.splitlines() if x.startswith(("Total, USD", "Итого, USD")))
    assert amounts(total_line, locale) == [total_invoiced, total_invoiced_reporting]
    figures = layer_values(client, "mart_receivables", "counterparty_id", counterparty_id, MONTH)
    assert amounts(total_line, locale)[-1] == figures["invoiced"]  # what the receivables dashboard shows
    words = "One hundred and" if locale == "en" else "тысяч"
    assert words in text  # the balance spelled out
