"""The reports Pulse renders, one entry per report kind (pulse.core.report_kinds): how its data is loaded from
the marts and how it is worded. Rendering and delivery look a kind up here and nowhere else.

A new report: its kind in pulse.core.report_kinds, a module that loads its data (like reports/hospital_statement.py),
a view in reports/views.py, a template in report_templates/ named after the kind, and an entry below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clickhouse_connect.driver.client import Client

from pulse.core.report_kinds import REPORT_KINDS, KindSpec, spec_for
from reports import counterparty_statement, customer_statement, executive_weekly, hospital_statement, views
from reports.counterparty_statement import CounterpartyStatement
from reports.customer_statement import CustomerStatement
from reports.executive_weekly import ExecutiveWeekly
from reports.formatting import Formatter
from reports.hospital_statement import HospitalStatement
from reports.messages import Messages

ReportData = HospitalStatement | CustomerStatement | ExecutiveWeekly | CounterpartyStatement


@dataclass(frozen=True)
class Report:
    spec: KindSpec
    # Every recipient's data for one period with a few queries; a recipient that cannot be stated gets its error.
    load: Callable[[Client, Sequence[Mapping[str, str]]], Sequence[Any]]
    view: Callable[[Any, Formatter, Messages], views.ReportView]  # the words around the data, in a locale


REPORTS: dict[str, Report] = {
    report.spec.kind: report
    for report in (
        Report(spec_for(hospital_statement.KIND), hospital_statement.load_hospital_statements, views.hospital_view),
        Report(spec_for(customer_statement.KIND), customer_statement.load_customer_statements, views.customer_view),
        Report(spec_for(executive_weekly.KIND), executive_weekly.load_executive_weeklies, views.executive_view),
        Report(
            spec_for(counterparty_statement.KIND),
            counterparty_statement.load_counterparty_statements,
            views.counterparty_view,
        ),
    )
}
if tuple(REPORTS) != REPORT_KINDS:  # not an assert: it must hold under python -O too
    raise RuntimeError(f"reports/catalogue.py must have one entry per report kind, in order: {REPORT_KINDS}")


def view_for(data: ReportData, fmt: Formatter, t: Messages) -> views.ReportView:
    return REPORTS[data.kind].view(data, fmt, t)
