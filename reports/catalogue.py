"""The reports Pulse renders, one entry per report kind (pulse.core.report_kinds): how its data is loaded from
the marts and how it is worded. Rendering and delivery look a kind up here and nowhere else.

A new report: its kind in pulse.core.report_kinds, a module that loads its data (like reports/hospital_statement.py),
a view in reports/views.py, a template in report_templates/ named after the kind, its tables in reports/tables.py
(what a subscription attaches as CSV or XLSX), and an entry below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clickhouse_connect.driver.client import Client

from pulse.core.report_kinds import REPORT_KINDS, KindSpec, spec_for
from reports import (
    counterparty_statement,
    customer_statement,
    executive_weekly,
    hospital_statement,
    sales_rep_statement,
    tables,
    views,
)
from reports.counterparty_statement import CounterpartyStatement
from reports.customer_statement import CustomerStatement
from reports.executive_weekly import ExecutiveWeekly
from reports.formatting import Formatter
from reports.hospital_statement import HospitalStatement
from reports.messages import Messages
from reports.sales_rep_statement import SalesRepStatement

ReportData = HospitalStatement | CustomerStatement | ExecutiveWeekly | CounterpartyStatement | SalesRepStatement


@dataclass(frozen=True)
class Report:
    spec: KindSpec
    # Every recipient's data for one period with a few queries; a recipient that cannot be stated gets its error.
    load: Callable[[Client, Sequence[Mapping[str, str]]], Sequence[Any]]
    view: Callable[[Any, Formatter, Messages], views.ReportView]  # the words around the data, in a locale
    # The statement's tables in a locale (CSV/XLSX attachments); None until the kind defines them.
    tables: Callable[[Any, str], Sequence[tables.Table]] | None = None


REPORTS: dict[str, Report] = {
    report.spec.kind: report
    for report in (
        Report(
            spec_for(hospital_statement.KIND),
            hospital_statement.load_hospital_statements,
            views.hospital_view,
            tables=tables.hospital_tables,
        ),
        Report(
            spec_for(customer_statement.KIND),
            customer_statement.load_customer_statements,
            views.customer_view,
            tables=tables.customer_tables,
        ),
        Report(
            spec_for(executive_weekly.KIND),
            executive_weekly.load_executive_weeklies,
            views.executive_view,
            tables=tables.executive_tables,
        ),
        Report(
            spec_for(counterparty_statement.KIND),
            counterparty_statement.load_counterparty_statements,
            views.counterparty_view,
            tables=tables.counterparty_tables,
        ),
        Report(
            spec_for(sales_rep_statement.KIND),
            sales_rep_statement.load_sales_rep_statements,
            views.sales_rep_view,
            tables=tables.sales_rep_tables,
        ),
    )
}
if tuple(REPORTS) != REPORT_KINDS:  # not an assert: it must hold under python -O too
    raise RuntimeError(f"reports/catalogue.py must have one entry per report kind, in order: {REPORT_KINDS}")


def view_for(data: ReportData, fmt: Formatter, t: Messages) -> views.ReportView:
    return REPORTS[data.kind].view(data, fmt, t)


def tables_for(data: ReportData, locale: str) -> list[tables.Table]:
    """The statement's tables (what its CSV and XLSX attachments hold), from the data its PDF is rendered from."""
    make = REPORTS[data.kind].tables
    if make is None:
        raise NotImplementedError(
            f"report kind {data.kind} has no tables to attach as CSV or XLSX: write its function in "
            "reports/tables.py and name it as tables= in its entry in reports/catalogue.py"
        )
    return list(make(data, locale))
