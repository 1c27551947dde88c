"""What a report says about itself in a locale: title, email subject, file name, period wording and the key
totals the email body repeats. The templates lay out the data; this decides the words around it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from reports.customer_statement import CustomerStatement
from reports.data import ReportData
from reports.data_common import next_month
from reports.formatting import Formatter
from reports.messages import Messages


@dataclass(frozen=True)
class ReportView:
    kind: str
    title: str
    subject: str
    reference: str  # the recipient's code, printed in the running header
    period_label: str  # "March 2026"
    period_in_sentence: str  # "March 2026" / "март 2026"
    period_start: dt.date
    period_end: dt.date  # inclusive
    filename: str
    recipient_name: str
    key_totals: tuple[tuple[str, str], ...]


def view_for(data: ReportData, fmt: Formatter, t: Messages) -> ReportView:
    if isinstance(data, CustomerStatement):
        return _customer(data, fmt, t)
    raise TypeError(f"no view for {type(data).__name__}")


def _month_period(month: dt.date) -> tuple[dt.date, dt.date]:
    return month, next_month(month) - dt.timedelta(days=1)


def _customer(data: CustomerStatement, fmt: Formatter, t: Messages) -> ReportView:
    start, end = _month_period(data.month)
    title = t("customer.title")
    return ReportView(
        kind=data.kind,
        title=title,
        subject=t("customer.subject", period=fmt.month_lower(data.month)),
        reference=data.client_id,
        period_label=fmt.month(data.month),
        period_in_sentence=fmt.month_lower(data.month),
        period_start=start,
        period_end=end,
        filename=f"customer-statement-{data.client_id}-{data.month:%Y-%m}-{fmt.locale}.pdf",
        recipient_name=data.full_name,
        key_totals=(
            (t("common.opening_balance"), fmt.money(data.opening_balance, data.currency)),
            (t("customer.topups"), fmt.money(data.topups, data.currency)),
            (t("customer.net_spend"), fmt.money(data.spend, data.currency)),
            (t("common.closing_balance"), fmt.money(data.closing_balance, data.currency)),
        ),
    )
