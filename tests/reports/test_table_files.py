"""The statement's tables as CSV and XLSX, without a warehouse: a statement built in memory, written, and read back
with the csv module and openpyxl (what a spreadsheet sees): BOM and Cyrillic headers, RFC 4180 quoting, the
formula-injection guard, money kept to the cent as numbers, dates as dates, and the email that carries them."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest
from openpyxl import load_workbook

from pulse.core.report_kinds import REPORT_KINDS
from reports.catalogue import REPORTS, tables_for
from reports.customer_statement import CustomerStatement, LedgerLine
from reports.mail import build_message
from reports.render import RenderedReport, render_attachments
from reports.table_files import XLSX_FORMATS, guard_text, table_attachments, write_csv, write_xlsx
from reports.tables import Column, Table, Typed

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BIG = Decimal("123456789012.34")  # 14 digits: the widest amount the store holds (NUMERIC(14,2))
NASTY = ['=HYPERLINK("http://x.example","x")', "+7 495 000", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


def statement(name: str = "Иванова Анна") -> CustomerStatement:
    """A customer statement as the loader returns it: three lines, one of them typed by a person to attack."""
    lines = (
        LedgerLine(dt.date(2026, 3, 2), "09:15", "topup", "payroll", "", 0, "", "", Decimal("1000.00"), BIG),
        LedgerLine(dt.date(2026, 3, 3), "12:40", "vend", "machine", "=cmd|' /C calc'!A0", 1, "Больница №1",
                   "Этаж 2, у лифта", Decimal("-374.50"), BIG - Decimal("374.50")),
        LedgerLine(dt.date(2026, 3, 4), "08:00", "refund", "machine", 'Комплект, "малый"', 1, "Больница №1",
                   "Этаж 2\nу лифта", Decimal("374.50"), BIG + Decimal("1000.00")),
    )  # fmt: skip
    return CustomerStatement(
        customer_id=42, client_id="4200042", full_name=name, role="doctor", email="anna@example.ru",
        home_hospital_name="Больница №1", month=dt.date(2026, 3, 1), currency="RUB", opening_balance=BIG - 1000,
        topups=Decimal("1000.00"), gross_vend_spend=Decimal("374.50"), refunds=Decimal("374.50"),
        spend=Decimal("0.00"), adjustments=Decimal("0.00"), closing_balance=BIG + Decimal("1000.00"), kits=1, vends=1,
        lines=lines,
    )  # fmt: skip


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_every_report_kind_has_its_tables() -> None:
    """A new kind names its tables in reports/catalogue.py (else its subscriptions cannot attach CSV or XLSX)."""
    missing = [kind for kind in REPORT_KINDS if REPORTS[kind].tables is None]
    assert missing == [], f"add tables= to the catalogue entries of {missing} (reports/tables.py)"


def test_guard_prefixes_what_a_spreadsheet_would_run() -> None:
    for text in NASTY:
        assert guard_text(text) == "'" + text
    for text in ("Anna", "4200042", "", " =x", "'=x", "Больница"):
        assert guard_text(text) == text


def test_csv_has_a_bom_cyrillic_headers_rfc4180_quoting_and_no_formulas() -> None:
    summary, transactions = tables_for(statement(NASTY[0]), "ru")
    data = write_csv(transactions)
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads the file as UTF-8
    assert data.count(b"\r\n") == 4  # CRLF after the header and each row (RFC 4180)
    header, *rows = read_csv(data)
    assert header == ["Дата", "Время", "Операция", "Комплект", "Где", "Компл.", "Сумма, RUB", "Остаток, RUB"]
    assert rows[0] == ["2026-03-02", "09:15", "Пополнение", "", "из зарплаты", "", "1000.00", str(BIG)]
    assert rows[1][3] == "'=cmd|' /C calc'!A0"  # the product name is text again, never a formula
    assert rows[1][6] == "-374.50"  # a negative amount is a number: no quote
    assert rows[2][3] == 'Комплект, "малый"' and rows[2][4] == "Этаж 2\nу лифта"  # quoted, read back whole
    assert '"Комплект, ""малый"""'.encode() in data  # RFC 4180: the field quoted, its quotes doubled

    (line,) = read_csv(write_csv(summary))[1:]
    assert line[1] == "'" + NASTY[0] and line[10] == str(BIG + 1000)


def test_xlsx_keeps_types_cents_and_dates_with_a_bold_frozen_header() -> None:
    tables = tables_for(statement(NASTY[0]), "ru")
    book = load_workbook(io.BytesIO(write_xlsx(tables)))
    assert book.sheetnames == ["summary", "transactions"]
    sheet = book["transactions"]
    assert sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]][:3] == ["Дата", "Время", "Операция"] and all(c.font.b for c in sheet[1])
    day, amount, balance, product = sheet["A2"], sheet["G3"], sheet["H2"], sheet["D3"]
    assert day.is_date and day.value.date() == dt.date(2026, 3, 2) and day.number_format == "yyyy-mm-dd"
    assert amount.data_type == "n" and Decimal(str(amount.value)) == Decimal("-374.50")
    assert amount.number_format == XLSX_FORMATS["money"] == "#,##0.00"
    assert Decimal(str(balance.value)) == BIG  # 14 digits to the cent, as a number
    assert product.data_type == "s" and product.value == "'=cmd|' /C calc'!A0"
    assert sheet["F2"].value is None and sheet["F3"].value == 1  # kits: empty for money movements
    assert all(4 < (sheet.column_dimensions[col].width or 0) <= 60 for col in "ABCDEFGH")
    summary = book["summary"]
    assert summary["B2"].value == "'" + NASTY[0] and summary["B2"].data_type == "s"
    assert Decimal(str(summary["K2"].value)) == BIG + 1000  # closing balance
    assert sum(Decimal(str(row[6].value)) for row in sheet.iter_rows(min_row=2)) == Decimal("1000.00")


def test_xlsx_formats_mixed_cells_and_drops_control_characters() -> None:
    table = Table(
        "kpis",
        (Column("Показатель"), Column("Значение"), Column("Изменение", "ratio")),
        (
            ("Выручка, RUB", Typed(Decimal("1234.50"), "money"), 0.125),
            ("Доля отказов", Typed(0.0625, "ratio"), None),
            ("\x01=1+1", Typed(12, "int"), -0.5),
        ),
    )
    sheet = load_workbook(io.BytesIO(write_xlsx([table])))["kpis"]
    assert sheet["B2"].number_format == "#,##0.00" and sheet["B3"].number_format == "0.00%"
    assert sheet["B4"].number_format == "#,##0" and sheet["C2"].number_format == "0.00%"
    assert sheet["A4"].value == "'=1+1" and sheet["A4"].data_type == "s"
    assert sheet["C4"].value == -0.5  # a number, not guarded
    with pytest.raises(ValueError, match="a row of 2 cells for 3 columns"):
        Table("bad", table.columns, (("a", 1),))


def test_attachments_are_named_after_the_pdf_and_ride_after_it_in_the_email() -> None:
    data = statement()
    files = render_attachments("customer_statement", data, "en", ["xlsx", "csv"])
    stem = "customer-statement-4200042-2026-03-en"
    assert [f.filename for f in files] == [f"{stem}-summary.csv", f"{stem}-transactions.csv", f"{stem}.xlsx"]
    single = table_attachments(tables_for(data, "en")[:1], ["csv"], "x")
    assert [f.filename for f in single] == ["x.csv"]
    with pytest.raises(ValueError, match="unknown attachment format"):
        table_attachments(tables_for(data, "en"), ["pdf"], "x")

    report = RenderedReport(b"%PDF-1.7 test", "Statement", "<p>Hi</p>", f"{stem}.pdf", 1, files)
    raw = build_message(smtp_from="Pulse <reports@pulse.test>", to_email="anna@example.ru", to_name="Anna",
                        report=report, msg_id="<m@pulse.test>", unsubscribe_url="http://x.test/u", delivery_id=1,
                        now=dt.datetime(2026, 4, 1, tzinfo=dt.UTC))  # fmt: skip
    message = message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    parts = list(message.iter_attachments())
    assert [p.get_content_type() for p in parts] == ["application/pdf", "text/csv", "text/csv", XLSX]
    assert [p.get_filename() for p in parts] == [f"{stem}.pdf", *(f.filename for f in files)]
    assert parts[1].get_param("charset") == "utf-8"
    assert parts[1].get_payload(decode=True) == files[0].data  # the BOM and bytes arrive as written
    book = load_workbook(io.BytesIO(parts[3].get_payload(decode=True)))
    assert Decimal(str(book["summary"]["K2"].value)) == data.closing_balance
