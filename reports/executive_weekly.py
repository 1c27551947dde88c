"""Executive weekly summary data: the company KPIs for an ISO week, the week before it (week-over-week change)
and the eight weeks up to it (trend lines), with daily values of the two weeks for the bar charts.

Every KPI is a metric of mart_executive_kpis_daily, asked of the metrics layer by name (pulse/metrics.py), so
the report prints what the executive dashboard shows: a week's rate is the layer's ratio of the week's sums
(declines / authorisations, not an average of daily rates), "active" counts are the layer's daily averages.
Money summed from rows whose reporting-currency amount is unknown (no FX rate on their day) would be understated, so any such
row in the two weeks stops the report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from clickhouse_connect.driver.client import Client

from pulse import metrics
from pulse.core.business import week_label
from pulse.metrics import reporting_currency
from reports.data_common import ReportDataError, company_time_zone, parse_week, query_rows

KIND = "executive_weekly"
TREND_WEEKS = 8
MART = "mart_executive_kpis_daily"


@dataclass(frozen=True)
class Kpi:
    """A line of the report: a metric of the KPI mart, the group it is listed under, and which way is good."""

    metric: str
    group: str
    higher_is_better: bool = True


# The order is the order of the report; what each metric is (label, expression, format) is in the mart's YAML.
KPIS: tuple[Kpi, ...] = (
    Kpi("vending_revenue", "vending"),
    Kpi("total_kits_sold", "vending"),
    Kpi("total_completed_vends", "vending"),
    Kpi("total_vends", "vending"),
    Kpi("average_vend_value", "vending"),
    Kpi("total_failed_vends", "vending", higher_is_better=False),
    Kpi("total_refunded_vends", "vending", higher_is_better=False),
    Kpi("offline_vend_share", "vending", higher_is_better=False),
    Kpi("mean_active_machines", "vending"),
    Kpi("mean_active_customers", "customers"),
    Kpi("total_new_customers", "customers"),
    Kpi("topups", "customers"),
    Kpi("total_authorisation_declines", "customers", higher_is_better=False),
    Kpi("overall_decline_rate", "customers", higher_is_better=False),
    Kpi("total_pin_lockouts", "customers", higher_is_better=False),
    Kpi("total_leads", "clinic"),
    Kpi("total_leads_contacted", "clinic"),
    Kpi("total_bookings", "clinic"),
    Kpi("total_attended_visits", "clinic"),
    Kpi("total_paid_visits", "clinic"),
    Kpi("total_insurance_visits", "clinic"),
    Kpi("overall_lead_to_paid_rate", "clinic"),
    Kpi("clinic_paid_revenue", "clinic"),
    Kpi("ad_spend", "clinic", higher_is_better=False),
    Kpi("cost_per_lead", "clinic", higher_is_better=False),
    Kpi("total_inbound_calls", "calls"),
    Kpi("total_outbound_calls", "calls"),
    Kpi("overall_call_answered_rate", "calls"),
    Kpi("total_missed_calls", "calls", higher_is_better=False),
    Kpi("total_messages_sent", "calls"),
    Kpi("overall_message_delivery_rate", "calls"),
    Kpi("invoiced", "finance"),
)
KPI_GROUPS = ("vending", "customers", "clinic", "calls", "finance")
HEADLINE = (
    "vending_revenue",
    "total_kits_sold",
    "mean_active_customers",
    "total_leads",
    "total_paid_visits",
    "ad_spend",
)


@dataclass(frozen=True)
class KpiValue:
    kpi: Kpi
    metric: metrics.Metric
    value: float | Decimal | None  # None: no day of the week in the mart, or nothing to divide by
    previous: float | Decimal | None
    trend: tuple[float | None, ...]  # TREND_WEEKS weekly values, oldest first, this week last
    daily: tuple[float, ...]  # the week's seven daily values (sums and means only; empty for ratios)
    daily_previous: tuple[float, ...]

    def label(self, locale: str) -> str:
        return self.metric.label_ru if locale == "ru" else self.metric.label

    @property
    def change(self) -> float | None:
        """Relative change against the previous week; None when the previous week is zero or unknown."""
        if self.value is None or self.previous is None or self.previous == 0:
            return None
        return float(self.value) / float(self.previous) - 1.0


@dataclass(frozen=True)
class ExecutiveWeekly:
    week: str  # 2026-W11
    week_start: dt.date  # its first day: Monday or Sunday (PULSE_WEEK_START)
    currency: str
    time_zone: str  # the company's: clinic and call-centre days are its days
    days_reported: int  # days of the week present in the mart (7 once the week is over)
    kpis: tuple[KpiValue, ...]

    kind = KIND

    @property
    def params(self) -> dict[str, str]:
        return {"week": self.week}

    @property
    def week_end(self) -> dt.date:
        return self.week_start + dt.timedelta(days=6)

    @property
    def has_activity(self) -> bool:
        return self.days_reported > 0

    def kpi(self, name: str) -> KpiValue:
        return next(k for k in self.kpis if k.kpi.metric == name)


# Rows in the two compared weeks (a day of margin for local calendars) whose reporting-currency amount is unknown.
MISSING_RATES_SQL = """
SELECT 'vending revenue' AS what, currency, count() AS n, min(toDate(device_time, {tz:String})) AS first_day
FROM marts.fct_vend_transactions
WHERE is_completed AND amount_reporting IS NULL AND toDate(device_time, {tz:String}) BETWEEN {start:Date} AND {end:Date}
GROUP BY currency
UNION ALL
SELECT 'top-ups', currency, count(), min(toDate(occurred_at, {tz:String}))
FROM marts.fct_account_entries
WHERE kind = 'topup' AND amount_reporting IS NULL AND toDate(occurred_at, {tz:String}) BETWEEN {start:Date} AND {end:Date}
GROUP BY currency
UNION ALL
SELECT 'invoices', currency, count(), min(toDate(issued_on))
FROM marts.mart_receivables
WHERE status != 'cancelled' AND amount_reporting IS NULL AND issued_on BETWEEN {start:Date} AND {end:Date}
GROUP BY currency
UNION ALL
SELECT 'ad spend', currency, count(), min(day)
FROM marts.fct_ad_spend
WHERE amount_reporting IS NULL AND day BETWEEN {start:Date} AND {end:Date}
GROUP BY currency
"""


def load_executive_weeklies(
    client: Client, params_list: Sequence[Mapping[str, str]]
) -> list[ExecutiveWeekly | ReportDataError]:
    """Every executive gets the same numbers: one load per distinct week."""
    loaded: dict[dt.date, ExecutiveWeekly | ReportDataError] = {}
    results: list[ExecutiveWeekly | ReportDataError] = []
    for params in params_list:
        try:
            first_day = parse_week(KIND, params)
        except ReportDataError as error:
            results.append(error)
            continue
        if first_day not in loaded:
            try:
                loaded[first_day] = _load_week(client, first_day)
            except ReportDataError as error:
                loaded[first_day] = error
        results.append(loaded[first_day])
    return results


def _load_week(client: Client, first_day: dt.date) -> ExecutiveWeekly:
    week = week_label(first_day)
    previous_first_day = first_day - dt.timedelta(days=7)
    missing = query_rows(
        client,
        MISSING_RATES_SQL,
        {
            "tz": company_time_zone(),
            "start": previous_first_day - dt.timedelta(days=1),
            "end": first_day + dt.timedelta(days=7),
        },
    )
    if missing:
        found = "; ".join(f"{m['what']}: {m['n']} in {m['currency']} from {m['first_day']}" for m in missing)
        currencies = ", ".join(sorted({m["currency"] for m in missing}))
        raise ReportDataError(
            KIND,
            {"week": week},
            f"amounts without an exchange rate to {reporting_currency()} in the compared weeks ({found}); "
            "the week's totals would be understated",
            hint=f"load the central bank's rates for {currencies} (pulse extract feeds), run dbt build, render again",
        )
    first = first_day - dt.timedelta(weeks=TREND_WEEKS - 1)
    layer = metrics.named(MART, *(k.metric for k in KPIS))
    weekly = metrics.compile_metrics(layer, ["week_start"], {}, (first, first_day + dt.timedelta(days=7)))
    by_week = {r["week_start"]: r for r in query_rows(client, weekly.sql, weekly.parameters)}
    # Day by day only what adds up over days: a ratio's daily bars would mislead (a quiet day's 100%).
    additive = [m for m in layer if not m.is_ratio]
    daily = metrics.compile_metrics(additive, ["day"], {}, (previous_first_day, first_day + dt.timedelta(days=7)))
    by_day = {r["day"]: r for r in query_rows(client, daily.sql, daily.parameters)}
    weeks = [first + dt.timedelta(weeks=i) for i in range(TREND_WEEKS)]

    def days(start: dt.date, metric: metrics.Metric) -> tuple[float, ...]:
        if metric.is_ratio:
            return ()
        rows = (by_day.get(start + dt.timedelta(days=i)) for i in range(7))
        return tuple(float(r[metric.name] or 0) if r is not None else 0.0 for r in rows)

    kpis = []
    for kpi, metric in zip(KPIS, layer, strict=True):
        trend = tuple(_value(by_week.get(w), metric) for w in weeks)
        kpis.append(
            KpiValue(
                kpi=kpi,
                metric=metric,
                value=trend[-1],
                previous=trend[-2],
                trend=tuple(None if v is None else float(v) for v in trend),
                daily=days(first_day, metric),
                daily_previous=days(previous_first_day, metric),
            )
        )
    return ExecutiveWeekly(
        week=week,
        week_start=first_day,
        currency=reporting_currency(),
        time_zone=company_time_zone(),
        days_reported=sum(1 for i in range(7) if first_day + dt.timedelta(days=i) in by_day),
        kpis=tuple(kpis),
    )


def _value(row: dict[str, Any] | None, metric: metrics.Metric) -> float | Decimal | None:
    """A metric's value in a week's row: money stays Decimal; None when the week has no day in the mart."""
    if row is None or row[metric.name] is None:
        return None
    value = row[metric.name]
    return value if isinstance(value, Decimal) else float(value)
