"""What a report says about itself in a locale: title, email subject, file name, period wording and the key
totals the email body repeats. The templates lay out the data; this decides the words around it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pulse.metrics import next_month
from reports.counterparty_statement import CounterpartyStatement
from reports.customer_statement import CustomerStatement
from reports.executive_weekly import HEADLINE, KPI_GROUPS, ExecutiveWeekly, KpiValue
from reports.formatting import Formatter
from reports.hospital_statement import HospitalStatement
from reports.messages import Messages
from reports.sales_rep_statement import SalesRepStatement


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
    extra: Mapping[str, Any] = field(default_factory=dict)  # kind-specific template values


def _month_period(month: dt.date) -> tuple[dt.date, dt.date]:
    return month, next_month(month) - dt.timedelta(days=1)


def customer_view(data: CustomerStatement, fmt: Formatter, t: Messages) -> ReportView:
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


def hospital_view(data: HospitalStatement, fmt: Formatter, t: Messages) -> ReportView:
    start, end = _month_period(data.month)
    return ReportView(
        kind=data.kind,
        title=t("hospital.title"),
        subject=t("hospital.subject", hospital=data.hospital_name, period=fmt.month_lower(data.month)),
        reference=data.hospital_code,
        period_label=fmt.month(data.month),
        period_in_sentence=fmt.month_lower(data.month),
        period_start=start,
        period_end=end,
        filename=f"hospital-statement-{data.hospital_code}-{data.month:%Y-%m}-{fmt.locale}.pdf",
        recipient_name="",
        key_totals=(
            (t("hospital.kits_sold"), fmt.integer(data.kits_sold)),
            (t("hospital.net_sales"), fmt.money(data.net_sales, data.currency)),
            (t("hospital.rate"), fmt.percent(data.commission_rate, 2) if data.kits_sold else "—"),
            (t("hospital.commission"), fmt.money(data.commission, data.currency)),
        ),
    )


def week_dates(start: dt.date, fmt: Formatter) -> str:
    """9-15 March 2026 / 9-15 марта 2026 г."""
    return fmt.day_range(start, start + dt.timedelta(days=6))


def executive_view(data: ExecutiveWeekly, fmt: Formatter, t: Messages) -> ReportView:
    dates = week_dates(data.week_start, fmt)
    week_number = data.week.split("-W")[1].lstrip("0")
    return ReportView(
        kind=data.kind,
        title=t("executive.title"),
        subject=t("executive.subject", week=week_number, dates=dates),
        reference=data.week,
        period_label=f"{t('executive.week', week=week_number)} · {dates}",
        period_in_sentence=dates,
        period_start=data.week_start,
        period_end=data.week_end,
        filename=f"executive-weekly-{data.week}-{fmt.locale}.pdf",
        recipient_name="",
        extra={
            "previous_dates": week_dates(data.week_start - dt.timedelta(days=7), fmt),
            "headline": [data.kpi(name) for name in HEADLINE],
            "groups": KPI_GROUPS,
            "day_labels": [fmt.weekday(data.week_start + dt.timedelta(days=i)) for i in range(7)],
        },
        key_totals=tuple(
            (
                kpi.label(fmt.locale),
                f"{fmt.metric(kpi.value, kpi.metric.format)} ({fmt.signed_percent(kpi.change)})",
            )
            for kpi in map(data.kpi, ("vending_revenue", "total_kits_sold", "total_leads", "total_paid_visits"))
        ),
    )


def counterparty_view(data: CounterpartyStatement, fmt: Formatter, t: Messages) -> ReportView:
    start, end = _month_period(data.month)
    reference = data.external_id or str(data.counterparty_id)
    totals: list[tuple[str, str]] = []
    for balance in data.balances:  # the values carry their currency
        totals.append((t("counterparty.invoiced"), fmt.money(balance.invoiced, balance.currency)))
        totals.append((t("counterparty.paid"), fmt.money(balance.paid, balance.currency)))
        totals.append((t("counterparty.closing"), fmt.money(balance.closing, balance.currency)))
    totals.append(
        (
            f"{t('counterparty.closing')} ({t('counterparty.reporting_currency').lower()})",
            fmt.money(data.closing_reporting_total, data.reporting_currency),
        )
    )
    return ReportView(
        kind=data.kind,
        title=t("counterparty.title"),
        subject=t("counterparty.subject", period=fmt.month_lower(data.month), name=data.name),
        reference=reference,
        period_label=fmt.month(data.month),
        period_in_sentence=fmt.month_lower(data.month),
        period_start=start,
        period_end=end,
        filename=f"counterparty-statement-{reference}-{data.month:%Y-%m}-{fmt.locale}.pdf",
        recipient_name="",
        key_totals=tuple(totals),
    )


def sales_rep_view(data: SalesRepStatement, fmt: Formatter, t: Messages) -> ReportView:
    start, end = _month_period(data.month)
    total = data.total
    return ReportView(
        kind=data.kind,
        title=t("sales_rep.title"),
        subject=t("sales_rep.subject", period=fmt.month_lower(data.month), name=data.name),
        reference=f"SR-{data.sales_rep_id}",
        period_label=fmt.month(data.month),
        period_in_sentence=fmt.month_lower(data.month),
        period_start=start,
        period_end=end,
        filename=f"sales-rep-statement-{data.sales_rep_id}-{data.month:%Y-%m}-{fmt.locale}.pdf",
        recipient_name=data.name,
        key_totals=(
            (t("sales_rep.kits"), f"{fmt.integer(total.kits)} ({fmt.signed_percent(data.kits_change)})"),
            (
                t("sales_rep.revenue"),
                f"{fmt.money(total.revenue, data.currency)} ({fmt.signed_percent(data.revenue_change)})",
            ),
            (t("sales_rep.declines"), fmt.integer(total.declines)),
            (t("sales_rep.stock_out_days"), fmt.integer(total.stock_out_days)),
        ),
    )


def change_class(kpi: KpiValue) -> str:
    """good / bad / flat: whether the week's change is welcome for this KPI (fewer failed vends is good)."""
    change = kpi.change
    if change is None or abs(change) < 0.0005:
        return "flat"
    return "good" if (change > 0) == kpi.kpi.higher_is_better else "bad"


def arrow(kpi: KpiValue) -> str:
    change = kpi.change
    if change is None or abs(change) < 0.0005:
        return "→"
    return "▲" if change > 0 else "▼"
