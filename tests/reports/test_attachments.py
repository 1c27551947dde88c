"""Subscriptions that attach the statement's tables: the API stores the formats (and refuses unknown ones), a run
sends one email per recipient with the PDF, then its CSV files and its XLSX workbook, whose totals are the PDF's and
the mart's to the cent; and every report kind's tables come out of the real marts in both languages."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from operational_api.app import create_app
from operational_api.db import Store
from operational_api.models import ReportSubscription
from pulse.core.report_kinds import REPORT_KINDS
from pulse.core.settings import Settings
from reports.data import load_report_data
from reports.render import render_attachments
from tests.operational_api.factories import keys_for_every_scope
from tests.reports.conftest import PERIOD, ReportWarehouse
from tests.reports.delivery_env import CUSTOMERS_QUERY, ReportsEnv
from tests.reports.pdf_text import amount_after, pages_text

pytestmark = pytest.mark.xdist_group("reports")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONTH = dt.date.fromisoformat(f"{PERIOD}-01")


def money(cell: Any) -> Decimal:
    """A money cell read back from the workbook (openpyxl gives a float) as the Decimal it was written from."""
    assert isinstance(cell.value, int | float), cell.value
    return Decimal(str(cell.value)).quantize(Decimal("0.01"))


def sheet_rows(book: Any, name: str) -> list[tuple[Any, ...]]:
    """A sheet's cells below its header row."""
    return list(book[name].iter_rows(min_row=2))


# -- API -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    home = tmp_path_factory.mktemp("api-app")
    url = f"sqlite:///{home / 'unused.db'}"
    return create_app(store=Store(url), settings=Settings(home=home, ops_database_url=url))


@pytest.fixture
def api(app: FastAPI, reports_env: ReportsEnv) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with reports_env.store.write() as session:
        keys = keys_for_every_scope(session)
    app.state.store = reports_env.store
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, {"Authorization": f"Bearer {keys['admin']}"}


def test_api_stores_attachments_and_refuses_unknown_formats(
    api: tuple[TestClient, dict[str, str]], reports_env: ReportsEnv
) -> None:
    client, auth = api
    body = {"name": "with-files", "report_kind": "customer_statement", "cron": "0 8 1 * *",
            "time_zone": "Europe/Moscow", "recipient_query": CUSTOMERS_QUERY.format(limit=2)}  # fmt: skip
    plain = client.post("/v1/report-subscriptions", json={**body, "name": "pdf-only"}, headers=auth)
    assert plain.status_code == 201, plain.text
    assert plain.json()["attachments"] == []  # the default: the PDF alone

    created = client.post("/v1/report-subscriptions", json={**body, "attachments": ["xlsx", "csv"]}, headers=auth)
    assert created.status_code == 201, created.text
    sub = created.json()
    assert sub["attachments"] == ["csv", "xlsx"]  # stored in one order, whatever order they came in
    assert client.get(f"/v1/report-subscriptions/{sub['id']}", headers=auth).json()["attachments"] == ["csv", "xlsx"]
    with reports_env.store.read() as session:
        row = session.get(ReportSubscription, sub["id"])
        assert row is not None and row.attachments == ["csv", "xlsx"]

    for bad in (["pdf"], ["csv", "docx"], ["csv", "csv"], "csv"):
        refused = client.post(
            "/v1/report-subscriptions", json={**body, "name": "bad", "attachments": bad}, headers=auth
        )
        assert refused.status_code == 422, (bad, refused.text)
        fields = refused.json()["error"]["fields"]
        assert fields and all("attachments" in f["loc"] for f in fields), fields
    patched_bad = client.patch(f"/v1/report-subscriptions/{sub['id']}", json={"attachments": ["zip"]}, headers=auth)
    assert patched_bad.status_code == 422 and "attachments" in patched_bad.json()["error"]["fields"][0]["loc"]

    patched = client.patch(f"/v1/report-subscriptions/{sub['id']}", json={"attachments": ["xlsx"]}, headers=auth)
    assert patched.status_code == 200 and patched.json()["attachments"] == ["xlsx"]
    cleared = client.patch(f"/v1/report-subscriptions/{sub['id']}", json={"attachments": []}, headers=auth)
    assert cleared.status_code == 200 and cleared.json()["attachments"] == []
    untouched = client.patch(f"/v1/report-subscriptions/{sub['id']}", json={"enabled": False}, headers=auth)
    assert untouched.json()["attachments"] == []


# -- delivery ----------------------------------------------------------------------------------------
def test_one_email_carries_the_pdf_csv_and_xlsx_whose_totals_are_the_marts(
    reports_env: ReportsEnv, tmp_path: Path
) -> None:
    env = reports_env
    sub = env.subscribe("customers-with-files", limit=3, attachments=["xlsx", "csv"])
    assert sub.attachments == ("csv", "xlsx")
    report = env.run(sub)
    assert report.states == {"sent": 3} and report.ok
    messages = env.messages()
    assert len(messages) == 3  # one email per recipient, every file in it
    client = env.warehouse.client()
    for message in messages:
        parts = list(message.iter_attachments())
        types = [p.get_content_type() for p in parts]
        assert types == ["application/pdf", "text/csv", "text/csv", XLSX], types
        pdf_name = parts[0].get_filename()
        stem = pdf_name.removesuffix(".pdf")
        assert [p.get_filename() for p in parts[1:]] == [
            f"{stem}-summary.csv",
            f"{stem}-transactions.csv",
            f"{stem}.xlsx",
        ]
        assert parts[1].get_param("charset") == "utf-8"
        locale = stem.rsplit("-", 1)[1]

        book = load_workbook(io.BytesIO(parts[3].get_payload(decode=True)))
        assert book.sheetnames == ["summary", "transactions"]
        summary = book["summary"]
        client_id = summary["A2"].value
        opening, closing = money(summary["E2"]), money(summary["K2"])
        (mart,) = client.query(
            "SELECT m.opening_balance, m.topups, m.gross_vend_spend, m.refunds, m.adjustments, m.closing_balance"
            " FROM marts.mart_customer_spend_monthly AS m"
            " INNER JOIN marts.dim_customers AS c ON c.customer_id = m.customer_id"
            " WHERE c.client_id = {cid:String} AND m.month = {m:Date}",
            parameters={"cid": client_id, "m": MONTH},
        ).result_rows
        assert [money(summary[f"{col}2"]) for col in "EFGHIK"] == list(mart)  # to the cent, as numbers
        lines = sheet_rows(book, "transactions")  # date, time, operation, kit, where, kits, amount, balance
        assert sum((money(line[6]) for line in lines), Decimal("0.00")) == closing - opening
        assert all(line[0].is_date for line in lines)
        if lines:
            assert money(lines[-1][7]) == closing  # the running balance ends where the summary does

        pdf = tmp_path / pdf_name
        pdf.write_bytes(parts[0].get_payload(decode=True))
        text = "\n".join(pages_text(pdf))
        closing_label = "Closing balance" if locale == "en" else "Исходящий остаток"
        assert amount_after(text, closing_label, locale) == closing  # the workbook says what the PDF says

        csv_summary = list(csv.reader(io.StringIO(parts[1].get_payload(decode=True).decode("utf-8-sig"))))
        assert Decimal(csv_summary[1][10]) == closing and csv_summary[1][0] == client_id


# -- every kind from the marts -------------------------------------------------------------------------
@pytest.mark.parametrize("locale", ["en", "ru"])
def test_every_kind_tables_come_from_the_marts(report_warehouse: ReportWarehouse, locale: str) -> None:
    client = report_warehouse.client()
    hospital_id, net_sales, commission = client.query(
        "SELECT hospital_id, net_sales_reporting, commission_reporting FROM marts.mart_hospital_commissions_monthly"
        " WHERE sales_month = {m:Date} ORDER BY kits_sold DESC LIMIT 1",
        parameters={"m": MONTH},
    ).result_rows[0]
    cases = {
        "hospital_statement": {"hospital_id": str(hospital_id), "period": PERIOD},
        "customer_statement": {"customer_id": str(report_warehouse.ids["busy_customer"]), "period": PERIOD},
        "executive_weekly": {"week": "2026-W12"},
        "counterparty_statement": {"counterparty_id": str(report_warehouse.ids["busy_counterparty"]), "period": PERIOD},
    }
    (rep,) = client.query(
        "SELECT sales_rep_id FROM marts.mart_sales_rep_machine_monthly WHERE sales_month = {m:Date}"
        " ORDER BY sales_rep_id LIMIT 1",
        parameters={"m": MONTH},
    ).result_rows[0]
    cases["sales_rep_statement"] = {"sales_rep_id": str(rep), "period": PERIOD}
    assert set(cases) == set(REPORT_KINDS)  # a new kind: add a case here
    for kind, params in cases.items():
        data = load_report_data(client, kind, params, locale)
        files = render_attachments(kind, data, locale, ["csv", "xlsx"])
        *csvs, xlsx = files
        assert xlsx.filename.endswith(f"-{locale}.xlsx") and all(f.data.startswith(b"\xef\xbb\xbf") for f in csvs)
        book = load_workbook(io.BytesIO(xlsx.data))
        assert len(book.sheetnames) == len(csvs)
        for sheet in book.worksheets:
            assert sheet.freeze_panes == "A2" and all(cell.font.b for cell in sheet[1])
        if kind == "hospital_statement":
            summary = book["summary"]
            assert money(summary["H2"]) == net_sales and money(summary["K2"]) == commission
            assert sum(money(m[-1]) for m in sheet_rows(book, "machines")) == net_sales
            assert sum(money(d[-1]) for d in sheet_rows(book, "days")) == net_sales
            assert sum(money(p[-1]) for p in sheet_rows(book, "products")) == net_sales
        elif kind == "customer_statement":
            assert book["transactions"].max_row == 1 + len(data.lines) > 1000  # the thousand-entry customer
        elif kind == "executive_weekly":
            revenue = data.kpi("vending_revenue")
            label = f"{revenue.label(locale)}, {data.currency}"
            (row,) = [r for r in sheet_rows(book, "kpis") if r[1].value == label]  # group, indicator, this week, ...
            assert money(row[2]) == revenue.value and row[2].number_format == "#,##0.00"
            assert len(sheet_rows(book, "kpis")) == len(data.kpis)
        elif kind == "sales_rep_statement":
            (summary,) = sheet_rows(book, "summary")  # rep, period, currency, hospitals, vends, kits, ..., revenue
            lines = sheet_rows(book, "lines")  # hospital, machine, sku, kit, vends, kits, ..., revenue
            assert summary[5].value == sum(line[5].value for line in lines) == data.total.kits
            assert money(summary[8]) == sum(money(line[8]) for line in lines) == data.total.revenue
        else:
            (usd,) = [b for b in sheet_rows(book, "balances") if b[0].value == "USD"]  # currency, opening, invoiced
            invoices = sheet_rows(book, "invoices")  # number, issued, due, status, amount, ...
            counted = [money(i[4]) for i, line in zip(invoices, data.invoices, strict=True) if line.counts]
            assert money(usd[2]) == sum(counted) == data.balances[0].invoiced
            assert money(usd[7]) == data.closing_reporting_total


# -- CLI -------------------------------------------------------------------------------------------------
def test_cli_renders_the_tables_beside_the_pdf(reports_env: ReportsEnv, tmp_path: Path) -> None:
    env = {**os.environ, **reports_env.env()}
    hospital_id = reports_env.warehouse.ids["quiet_hospital"]  # a zero statement: every table, most of them empty
    base = [sys.executable, "-m", "pulse", "reports", "render", "hospital_statement", "--param",
            f"hospital_id={hospital_id}", "--param", f"period={PERIOD}", "--locale", "ru"]  # fmt: skip
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "h.pdf"
    done = subprocess.run([*base, "-o", str(out), "--format", "pdf,xlsx", "--format", "csv"], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    names = sorted(p.name for p in folder.iterdir())
    tables = ("days", "machines", "products", "summary", "tiers")
    assert names == sorted(["h.pdf", "h.xlsx", *(f"h-{t}.csv" for t in tables)])
    assert out.read_bytes().startswith(b"%PDF-")
    assert load_workbook(folder / "h.xlsx").sheetnames == ["summary", "machines", "products", "days", "tiers"]
    header = (folder / "h-summary.csv").read_bytes().decode("utf-8-sig").splitlines()[0]
    assert header.startswith("Код больницы,Больница,")

    only = tmp_path / "only"
    only.mkdir()
    done = subprocess.run([*base, "-o", str(only / "x.pdf"), "--format", "xlsx"], env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0 and [p.name for p in only.iterdir()] == ["x.xlsx"]  # no PDF rendered
    bad = subprocess.run([*base, "--format", "docx"], env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "docx" in bad.stdout + bad.stderr
