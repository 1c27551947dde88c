"""Every template in every locale renders to PDF and to PNG pages (pdftoppm), with the blocks a reader needs
(running header, title, totals, "Page X of Y" on every page), the right language, long tables that carry
their header onto every page, correct zero statements for recipients without activity, and clear errors
instead of wrong numbers (missing FX rate, unknown recipient, bad parameters)."""

from __future__ import annotations

import pickle
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from pulse.core.report_kinds import REPORT_KINDS, spec_for
from pulse.core.settings import READER_USER
from reports.data import load_many
from reports.render import ReportDataError, render_html, render_pdf, render_report
from tests.reports.conftest import PERIOD, ReportWarehouse
from tests.reports.pdf_text import amount_after, pages_text, to_png

pytestmark = pytest.mark.xdist_group("reports")
CYRILLIC = re.compile(r"[А-Яа-яЁё]")
PAGE = {"en": "Page {n} of {m}", "ru": "Страница {n} из {m}"}
# What the first page must show, per kind and locale: the title and the key total's label.
KEY_BLOCKS = {
    ("customer_statement", "en"): ["Account statement", "Summary for the period", "Closing balance"],
    ("customer_statement", "ru"): ["Выписка по счёту", "Итоги за период", "Исходящий остаток"],
    ("hospital_statement", "en"): ["Commission statement", "Commission for the period", "Commission in words"],
    ("hospital_statement", "ru"): ["Отчёт о комиссионном вознаграждении", "Вознаграждение за период", "прописью"],
    ("executive_weekly", "en"): ["Executive weekly summary", "Headline figures", "All indicators"],
    ("executive_weekly", "ru"): ["Еженедельная сводка для руководства", "Главные показатели", "Все показатели"],
    ("counterparty_statement", "en"): ["Settlement statement", "Balance", "Invoices issued", "Balance owed at"],
    ("counterparty_statement", "ru"): ["Акт сверки взаиморасчётов", "Сальдо расчётов", "Выставленные счета", "Задолженность на"],
    ("sales_rep_statement", "en"): ["Territory sales statement", "The territory this month", "By hospital, machine and kit"],
    ("sales_rep_statement", "ru"): ["Отчёт по территории", "Территория за месяц", "По больницам, автоматам и комплектам"],
}  # fmt: skip


@pytest.fixture(scope="module")
def client(report_warehouse: ReportWarehouse) -> Any:
    return report_warehouse.client()


def typical_params(kind: str, client: Any) -> dict[str, str]:
    """A recipient with ordinary activity in the simulated month."""
    if kind == "executive_weekly":
        return {"week": "2026-W12"}
    sql = {
        "customer_statement": "SELECT customer_id FROM marts.mart_customer_spend_monthly WHERE month = {m:Date}"
        " AND ledger_entries BETWEEN 5 AND 30 ORDER BY ledger_entries DESC LIMIT 1",
        "hospital_statement": "SELECT hospital_id FROM marts.mart_hospital_commissions_monthly"
        " WHERE sales_month = {m:Date} ORDER BY kits_sold DESC LIMIT 1",
        "counterparty_statement": "SELECT counterparty_id FROM marts.mart_receivables WHERE issued_on >= {m:Date}"
        " AND currency != 'RUB' AND counterparty_name NOT LIKE 'Global%' ORDER BY counterparty_id LIMIT 1",
        "sales_rep_statement": "SELECT sales_rep_id FROM marts.mart_sales_rep_machine_monthly"
        " WHERE sales_month = {m:Date} GROUP BY sales_rep_id ORDER BY sum(kits_sold) DESC LIMIT 1",
    }[kind]
    (recipient,) = client.query(sql, parameters={"m": f"{PERIOD}-01"}).result_rows[0]
    (key,) = spec_for(kind).id_params
    return {key: str(recipient), "period": PERIOD}


def render_to_files(client: Any, kind: str, params: dict[str, str], locale: str, out: Path) -> tuple[Any, Path]:
    report = render_report(client, kind, params, locale)
    pdf = out / report.filename
    pdf.write_bytes(report.pdf)
    return report, pdf


@pytest.mark.parametrize("locale", ["en", "ru"])
@pytest.mark.parametrize("kind", REPORT_KINDS)
def test_every_template_renders_to_png_pages(client: Any, report_artifacts: Path, kind: str, locale: str) -> None:
    report, pdf = render_to_files(client, kind, typical_params(kind, client), locale, report_artifacts)
    assert report.pdf.startswith(b"%PDF-")
    assert len(PdfReader(pdf).pages) == report.pages >= 1
    pngs = to_png(pdf, report_artifacts)
    assert len(pngs) == report.pages
    assert all(p.stat().st_size > 5_000 for p in pngs)  # a blank A4 page at 50 dpi is far smaller

    pages = pages_text(pdf)
    for n, text in enumerate(pages, start=1):
        assert PAGE[locale].format(n=n, m=report.pages) in text  # footer: page X of Y
        assert "Pulse" in text  # running header on every page
    first = re.sub(r"\s+", " ", pages[0])
    for block in KEY_BLOCKS[(kind, locale)]:
        assert block.lower() in first.lower(), f"{block!r} missing from page 1"
    if locale == "ru":
        assert len(CYRILLIC.findall(first)) > 100  # labels are Russian, not only the names from the data
    else:
        for label in KEY_BLOCKS[(kind, "ru")]:
            assert label not in first
    assert report.subject and report.filename.endswith(f"-{locale}.pdf")


def test_huge_customer_statement_repeats_its_table_header_on_every_page(
    client: Any, report_warehouse: ReportWarehouse, report_artifacts: Path
) -> None:
    params = {"customer_id": str(report_warehouse.ids["busy_customer"]), "period": PERIOD}
    report, pdf = render_to_files(client, "customer_statement", params, "en", report_artifacts)
    assert report.pages >= 15  # 1,000 ledger lines
    pages = pages_text(pdf)
    assert len(pages) == report.pages
    for n, text in enumerate(pages, start=1):
        assert "Date Time Operation Where Kits Amount Balance" in text, f"page {n} has no table header"
        assert f"Page {n} of {report.pages}" in text
        if n > 1:  # continuation pages carry ledger lines, not a restated summary
            assert "Summary for the period" not in text
    assert "Closing balance" in pages[-1]
    assert len(re.findall(r"^\d\d [A-Z][a-z]{2} 2026 \d\d:\d\d ", "\n".join(pages), re.MULTILINE)) == 1000
    to_png(pdf, report_artifacts)


def test_long_settlement_statement_spans_pages_with_headers(
    client: Any, report_warehouse: ReportWarehouse, report_artifacts: Path
) -> None:
    params = {"counterparty_id": str(report_warehouse.ids["busy_counterparty"]), "period": PERIOD}
    report, pdf = render_to_files(client, "counterparty_statement", params, "ru", report_artifacts)
    assert report.pages >= 3
    invoice_header = "Счёт Выставлен Срок оплаты Статус Сумма Валюта Курс Сумма, RUB"
    payment_header = "Дата валютирования По счёту Сумма Валюта Курс Сумма, RUB"
    refusal_header = "Дата отказа По счёту Причина Сумма Валюта Курс Сумма, RUB"
    pages = pages_text(pdf)
    for n, text in enumerate(pages, start=1):
        assert any(h in text for h in (invoice_header, payment_header, refusal_header)), f"page {n} has no table header"
        assert f"Страница {n} из {report.pages}" in text
    assert refusal_header in pages[-1] and "не покрыто полисом" in pages[-1]  # the refusals, with their reasons
    to_png(pdf, report_artifacts)


@pytest.mark.parametrize("locale", ["en", "ru"])
def test_recipients_without_activity_get_a_zero_statement(
    client: Any, report_warehouse: ReportWarehouse, report_artifacts: Path, locale: str
) -> None:
    no_activity = {"en": "No activity this period", "ru": "За период операций не было"}[locale]
    ids = report_warehouse.ids
    cases = [
        ("customer_statement", {"customer_id": str(ids["quiet_customer"]), "period": PERIOD}),
        ("hospital_statement", {"hospital_id": str(ids["quiet_hospital"]), "period": PERIOD}),
        ("counterparty_statement", {"counterparty_id": str(ids["busy_counterparty"]), "period": "2025-06"}),
        ("executive_weekly", {"week": "2025-W10"}),
    ]
    for kind, params in cases:
        _, pdf = render_to_files(client, kind, params, locale, report_artifacts)
        (text,) = pages_text(pdf)  # one page
        assert no_activity in text, kind
        if kind == "customer_statement":
            closing = "Closing balance" if locale == "en" else "Исходящий остаток"
            assert amount_after(text, closing, locale) == 0
        if kind == "hospital_statement":
            commission = "Commission, RUB" if locale == "en" else "Вознаграждение, RUB"
            assert amount_after(text, commission, locale) == 0
        to_png(pdf, report_artifacts)


def test_missing_fx_rate_is_an_error_not_a_number(client: Any, report_warehouse: ReportWarehouse) -> None:
    params = {"counterparty_id": str(report_warehouse.ids["no_rate_counterparty"]), "period": PERIOD}
    with pytest.raises(ReportDataError) as caught:
        render_report(client, "counterparty_statement", params, "en")
    message = str(caught.value)
    assert "EC-2603-0001" in message and "EUR" in message and "2026-03-01" in message
    assert "counterparty_statement" in message and f"counterparty_id={params['counterparty_id']}" in message
    assert "rates" in caught.value.hint and "dbt build" in caught.value.hint
    # The executive summary comparing the week of that invoice would understate "invoiced": refused too.
    with pytest.raises(ReportDataError, match="EUR"):
        render_report(client, "executive_weekly", {"week": "2026-W10"}, "ru")


@pytest.mark.parametrize(
    ("kind", "params", "expected"),
    [
        ("customer_statement", {"customer_id": "987654", "period": PERIOD}, "no customer with customer_id 987654"),
        ("hospital_statement", {"hospital_id": "987654", "period": PERIOD}, "no hospital with hospital_id 987654"),
        ("counterparty_statement", {"counterparty_id": "987654", "period": PERIOD}, "no counterparty"),
        ("customer_statement", {"customer_id": "1", "period": "March"}, "period must be a month as YYYY-MM"),
        ("customer_statement", {"period": PERIOD}, "missing parameter(s) customer_id"),
        ("hospital_statement", {"hospital_id": "x1", "period": PERIOD}, "hospital_id must be a whole number"),
        ("executive_weekly", {"week": "2026-W54"}, "week must be an ISO week as YYYY-Www"),
        ("annual_report", {}, "unknown report"),
    ],
)
def test_bad_recipients_and_parameters_are_clear_errors(
    client: Any, kind: str, params: dict[str, str], expected: str
) -> None:
    with pytest.raises(ReportDataError) as caught:
        render_report(client, kind, params, "en")
    assert expected in str(caught.value)
    assert caught.value.hint


def test_every_report_loads_as_the_read_only_user(report_warehouse: ReportWarehouse) -> None:
    """Subscriptions render as pulse_reader: the loaders only read, and change no query settings."""
    import clickhouse_connect

    settings = report_warehouse.settings
    reader = clickhouse_connect.get_client(
        host=settings.clickhouse_host, port=settings.clickhouse_port, username=READER_USER,
        password=settings.reader_password(),
    )  # fmt: skip
    for kind in REPORT_KINDS:
        (data,) = load_many(reader, kind, [typical_params(kind, reader)], "ru")
        assert not isinstance(data, ReportDataError), data
        assert data.kind == kind and data.has_activity


def test_unknown_locale_is_refused(client: Any) -> None:
    with pytest.raises(ReportDataError, match="unknown locale 'de'"):
        render_report(client, "executive_weekly", {"week": "2026-W12"}, "de")


def test_batch_load_answers_each_recipient_and_isolates_failures(
    client: Any, report_warehouse: ReportWarehouse
) -> None:
    good = typical_params("customer_statement", client)
    params_list = [good, {"customer_id": "987654", "period": PERIOD}, {"customer_id": "2", "period": "bad"}, good]
    results = load_many(client, "customer_statement", params_list, "ru")
    assert [type(r).__name__ for r in results] == ["CustomerStatement", "ReportDataError", "ReportDataError",
                                                   "CustomerStatement"]  # fmt: skip
    assert results[0] == results[3]


def _render_in_worker(args: tuple[str, Any, str]) -> tuple[int, bytes]:
    kind, data, locale = args
    report = render_pdf(kind, data, locale)
    return report.pages, report.pdf[:5]


def test_loaded_data_renders_in_a_process_pool(client: Any, report_warehouse: ReportWarehouse) -> None:
    """Data and errors pickle, so a run loads once and renders in worker processes."""
    params_list = [typical_params("customer_statement", client), {"customer_id": "987654", "period": PERIOD}]
    data, error = load_many(client, "customer_statement", params_list, "en")
    assert isinstance(error, ReportDataError)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert str(copy) == str(error) and copy.hint == error.hint and copy.params == error.params
    with ProcessPoolExecutor(max_workers=1) as pool:
        pages, head = pool.submit(_render_in_worker, ("customer_statement", data, "ru")).result(timeout=300)
    assert head == b"%PDF-" and pages >= 1


def test_email_body_and_standalone_html(client: Any, report_warehouse: ReportWarehouse) -> None:
    params = typical_params("customer_statement", client)
    with_link = render_report(
        client, "customer_statement", params, "ru",
        base_url_for_unsubscribe="https://pulse.example/", unsubscribe_url="/v1/unsubscribe/tok123",
    )  # fmt: skip
    (name,) = client.query(
        "SELECT full_name FROM marts.dim_customers WHERE customer_id = {c:Int64}",
        parameters={"c": int(params["customer_id"])},
    ).result_rows[0]
    body = with_link.html_body
    assert f"Здравствуйте, {name}!" in body and "март 2026" in body and "Исходящий остаток" in body
    assert 'href="https://pulse.example/v1/unsubscribe/tok123"' in body
    assert with_link.subject == "Выписка по вашему счёту Pulse за март 2026"
    without_link = render_report(client, "customer_statement", params, "en")
    assert "unsubscribe" not in without_link.html_body.lower() and "Dear " in without_link.html_body

    data = load_many(client, "customer_statement", [params], "en")[0]
    assert not isinstance(data, ReportDataError)
    html = render_html("customer_statement", data, "en")
    assert "<style>" in html and "@page" in html and "counter(pages)" in html  # what a browser needs to print it
    with pytest.raises(ReportDataError, match="cannot render as hospital_statement"):
        render_html("hospital_statement", data, "en")
