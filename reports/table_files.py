"""A statement's tables (reports/tables.py) as files: CSV (one per table) and an XLSX workbook (one sheet per table).

CSV is RFC 4180 (comma, CRLF, quotes only where needed), UTF-8 with a byte-order mark: without it Excel reads the
file in the machine's ANSI code page and Russian headers become mojibake. Values are plain (1234.50, 2026-03-05),
so any program parses them. The workbook keeps types: money as numbers shown with 2 decimals, days as dates,
ratios as percentages, with a bold, frozen header row.

Text comes from the marts (names, locations, invoice numbers), ultimately from people: a text cell that starts
like a formula (= + - @, or a tab or carriage return that some spreadsheets skip before one) gets a leading single
quote, so that opening the file never runs what someone typed into their name (CSV/formula injection, OWASP).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePath

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from reports.tables import Cell, Kind, Table, Typed, Value

# What a subscription may attach beside the PDF (operational_api.models.reporting.ATTACHMENT_FORMATS).
FORMATS = ("csv", "xlsx")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_FORMATS: dict[Kind, str] = {
    "money": "#,##0.00",
    "int": "#,##0",
    "ratio": "0.00%",
    "rate": "0.0000####",
    "number": "#,##0.0##",
    "date": "yyyy-mm-dd",
    "text": "General",
}
MIN_WIDTH, MAX_WIDTH = 8, 60


@dataclass(frozen=True)
class Attachment:
    """A file for the email, beside the PDF."""

    filename: str
    maintype: str
    subtype: str
    data: bytes
    charset: str | None = None  # a text/* part's charset parameter


def guard_text(text: str) -> str:
    """A text cell that a spreadsheet could take for a formula, made plain text with a leading quote."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _split(cell: Cell, kind: Kind) -> tuple[Value, Kind]:
    return (cell.value, cell.kind) if isinstance(cell, Typed) else (cell, kind)


# -- CSV ----------------------------------------------------------------------------------------------
def _csv_value(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return guard_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")  # never 1E+3: a Decimal keeps its exact digits
    if isinstance(value, float):
        return f"{value:.12g}"  # a ratio to 12 digits: 0.0489583333333, not the float's 0.04895833333333344
    return str(value)


def write_csv(table: Table) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, dialect="excel", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([guard_text(column.header) for column in table.columns])
    for row in table.rows:
        writer.writerow(
            [_csv_value(_split(cell, column.kind)[0]) for cell, column in zip(row, table.columns, strict=True)]
        )
    return out.getvalue().encode("utf-8-sig")


# -- XLSX ---------------------------------------------------------------------------------------------
def _xlsx_text(text: str) -> str:
    # Control characters are not allowed in the workbook's XML (openpyxl refuses them): drop them first,
    # then guard, so that "\x01=cmd" cannot come out as a formula.
    return guard_text(ILLEGAL_CHARACTERS_RE.sub("", text))


def _shown_width(value: Value, kind: Kind) -> int:
    """About how many characters the cell shows, for the column's width."""
    if value is None:
        return 0
    if kind == "date":
        return 10
    if isinstance(value, str):
        return len(value)
    if kind == "ratio":
        return 8
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        digits = len(f"{abs(value):,.2f}") + 1
        return digits + 4 if kind == "rate" else digits
    return len(str(value))


def write_xlsx(tables: Sequence[Table]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)  # sheets come from the tables, in order
    bold = Font(bold=True)
    for table in tables:
        sheet = workbook.create_sheet(title=table.name)
        widths = [len(column.header) for column in table.columns]
        sheet.append([_xlsx_text(column.header) for column in table.columns])
        for cell in sheet[1]:
            cell.font = bold
        for r, row in enumerate(table.rows, start=2):
            for c, (raw, column) in enumerate(zip(row, table.columns, strict=True), start=1):
                value, kind = _split(raw, column.kind)
                target = sheet.cell(row=r, column=c)
                if isinstance(value, str):
                    target.value = _xlsx_text(value)
                    target.data_type = "s"  # a string, even one openpyxl would otherwise read as a formula
                else:
                    target.value = value  # Decimal is written with its exact digits
                    target.number_format = XLSX_FORMATS[kind]
                widths[c - 1] = max(widths[c - 1], _shown_width(value, kind))
        sheet.freeze_panes = "A2"  # the header stays in view while scrolling
        if table.rows:
            sheet.auto_filter.ref = sheet.dimensions
        for c, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(c)].width = min(max(width + 2, MIN_WIDTH), MAX_WIDTH)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# -- attachments --------------------------------------------------------------------------------------
def table_attachments(tables: Sequence[Table], formats: Sequence[str], stem: str) -> tuple[Attachment, ...]:
    """The files of `formats` named after `stem` (the PDF's name without .pdf): <stem>.xlsx, and <stem>.csv
    or, for several tables, <stem>-<table>.csv each."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown attachment format(s) {', '.join(unknown)}: use {', '.join(FORMATS)}")
    files: list[Attachment] = []
    for fmt in FORMATS:  # a fixed order whatever the subscription lists: the same email every time
        if fmt not in formats:
            continue
        if fmt == "csv":
            for table in tables:
                name = f"{stem}.csv" if len(tables) == 1 else f"{stem}-{table.name}.csv"
                files.append(Attachment(name, "text", "csv", write_csv(table), charset="utf-8"))
        else:
            files.append(
                Attachment(
                    f"{stem}.xlsx",
                    "application",
                    "vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    write_xlsx(tables),
                )
            )
    return tuple(files)


def stem_of(filename: str) -> str:
    """customer-statement-42-2026-03-en.pdf -> customer-statement-42-2026-03-en."""
    return PurePath(filename).stem
