"""Executive weekly summary data: the company KPIs of mart_executive_kpis_daily for an ISO week, the week
before it (week-over-week change) and the eight weeks up to it (trend lines), with daily values of the two
weeks for the bar charts.

A week's value of a rate is recomputed from its parts (declines / authorisations, not an average of daily
rates); counts and money are sums; "active" counts are daily averages, because distinct machines or buyers
cannot be added across days. Money summed from rows whose RUB amount is unknown (no FX rate on their day)
would be understated, so any such row in the two weeks stops the report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from clickhouse_connect.driver.client import Client

from pulse.metrics import reporting_currency
from reports.data_common import ReportDataError, company_time_zone, parse_week, query_rows

KIND = "executive_weekly"
TREND_WEEKS = 8


@dataclass(frozen=True)
class Metric:
    """How one KPI is aggregated over a week: `sum` or `mean` of a daily column, or `ratio` of two sums."""

    key: str
    group: str
    unit: str  # count, money, rate, amount (money per unit)
    how: str  # sum, mean, ratio
    column: str = ""
    numerator: str = ""
    denominator: str = ""
    higher_is_better: bool = True


# The order is the order of the report. Ratios name the (weighted) daily parts they are recomputed from.
METRICS: tuple[Metric, ...] = (
    Metric("vending_revenue_rub", "vending", "money", "sum", "vending_revenue_rub"),
    Metric("kits_sold", "vending", "count", "sum", "kits_sold"),
    Metric("completed_vends", "vending", "count", "sum", "completed_vends"),
    Metric("vends", "vending", "count", "sum", "vends"),
    Metric("avg_vend_value_rub", "vending", "amount", "ratio", numerator="vending_revenue_rub",
           denominator="completed_vends"),
    Metric("failed_vends", "vending", "count", "sum", "failed_vends", higher_is_better=False),
    Metric("refunded_vends", "vending", "count", "sum", "refunded_vends", higher_is_better=False),
    Metric("offline_share", "vending", "rate", "ratio", numerator="offline_vends", denominator="vends",
           higher_is_better=False),
    Metric("active_machines", "vending", "count", "mean", "active_machines"),
    Metric("active_customers", "customers", "count", "mean", "active_customers"),
    Metric("new_customers", "customers", "count", "sum", "new_customers"),
    Metric("topups_rub", "customers", "money", "sum", "topups_rub"),
    Metric("authorisation_declines", "customers", "count", "sum", "authorisation_declines", higher_is_better=False),
    Metric("decline_rate", "customers", "rate", "ratio", numerator="authorisation_declines",
           denominator="authorisations", higher_is_better=False),
    Metric("pin_lockouts", "customers", "count", "sum", "pin_lockouts", higher_is_better=False),
    Metric("leads", "clinic", "count", "sum", "leads"),
    Metric("leads_contacted", "clinic", "count", "sum", "leads_contacted"),
    Metric("bookings", "clinic", "count", "sum", "bookings"),
    Metric("attended_visits", "clinic", "count", "sum", "attended_visits"),
    Metric("paid_visits", "clinic", "count", "sum", "paid_visits"),
    Metric("insurance_visits", "clinic", "count", "sum", "insurance_visits"),
    Metric("lead_to_paid_rate", "clinic", "rate", "ratio", numerator="paid_visits",
           denominator="leads_less_insurance"),
    Metric("clinic_paid_revenue_rub", "clinic", "money", "sum", "clinic_paid_revenue_rub"),
    Metric("ad_spend_rub", "clinic", "money", "sum", "ad_spend_rub", higher_is_better=False),
    Metric("cost_per_lead_rub", "clinic", "amount", "ratio", numerator="ad_spend_rub", denominator="leads",
           higher_is_better=False),
    Metric("inbound_calls", "calls", "count", "sum", "inbound_calls"),
    Metric("outbound_calls", "calls", "count", "sum", "outbound_calls"),
    Metric("call_answered_rate", "calls", "rate", "ratio", numerator="answered_calls", denominator="calls"),
    Metric("missed_calls", "calls", "count", "sum", "missed_calls", higher_is_better=False),
    Metric("messages_sent", "calls", "count", "sum", "messages_sent"),
    Metric("message_delivery_rate", "calls", "rate", "ratio", numerator="messages_delivered",
           denominator="messages_sent"),
    Metric("invoiced_rub", "finance", "money", "sum", "invoiced_rub"),
)  # fmt: skip
METRIC_GROUPS = ("vending", "customers", "clinic", "calls", "finance")
HEADLINE = ("vending_revenue_rub", "kits_sold", "active_customers", "leads", "paid_visits", "ad_spend_rub")


@dataclass(frozen=True)
class KpiValue:
    metric: Metric
    value: float | Decimal | None  # None: nothing to divide by this week
    previous: float | Decimal | None
    trend: tuple[float | None, ...]  # TREND_WEEKS weekly values, oldest first, this week last
    daily: tuple[float, ...]  # the week's seven daily values (sums and means only; empty for ratios)
    daily_previous: tuple[float, ...]

    @property
    def change(self) -> float | None:
        """Relative change against the previous week; None when the previous week is zero or unknown."""
        if self.value is None or self.previous is None or self.previous == 0:
            return None
        return float(self.value) / float(self.previous) - 1.0


@dataclass(frozen=True)
class ExecutiveWeekly:
    week: str  # 2026-W11
    week_start: dt.date  # Monday
    currency: str
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

    def kpi(self, key: str) -> KpiValue:
        return next(k for k in self.kpis if k.metric.key == key)


# Daily rows with the parts that the mart's ratios were computed from, so a week's ratio can be recomputed.
DAYS_SQL = """
SELECT k.*,
       k.offline_share * k.vends AS offline_vends,
       v.authorisations AS authorisations,
       k.leads - k.insurance_visits AS leads_less_insurance,
       k.inbound_calls + k.outbound_calls AS calls,
       k.call_answered_rate * (k.inbound_calls + k.outbound_calls) AS answered_calls,
       k.message_delivery_rate * k.messages_sent AS messages_delivered
FROM marts.mart_executive_kpis_daily AS k
LEFT JOIN (
    SELECT day, sum(authorisations) AS authorisations FROM marts.mart_vending_daily
    WHERE day BETWEEN {start:Date} AND {end:Date} GROUP BY day
) AS v ON v.day = k.day
WHERE k.day BETWEEN {start:Date} AND {end:Date}
ORDER BY k.day
"""

# Rows in the two compared weeks (a day of margin for local calendars) whose RUB amount is unknown.
MISSING_RATES_SQL = """
SELECT 'vending revenue' AS what, currency, count() AS n, min(toDate(device_time, {tz:String})) AS first_day
FROM marts.fct_vend_transactions
WHERE is_completed AND amount_rub IS NULL AND toDate(device_time, {tz:String}) BETWEEN {start:Date} AND {end:Date}
GROUP BY currency
UNION ALL
SELECT 'top-ups', currency, count(), min(toDate(occurred_at, {tz:String}))
FROM marts.fct_account_entries
WHERE kind = 'topup' AND amount_rub IS NULL AND toDate(occurred_at, {tz:String}) BETWEEN {start:Date} AND {end:Date}
GROUP BY currency
UNION ALL
SELECT 'invoices', currency, count(), min(toDate(issued_on))
FROM marts.mart_receivables
WHERE status != 'cancelled' AND amount_rub IS NULL AND issued_on BETWEEN {start:Date} AND {end:Date}
GROUP BY currency
UNION ALL
SELECT 'ad spend', s.currency, count(), min(toDate(s.day))
FROM staging.stg_ad_spend AS s
ASOF LEFT JOIN intermediate.int_fx_rates AS fx ON fx.currency = s.currency AND fx.rate_date <= s.day
WHERE s.currency != {reporting:String} AND fx.has_rate = 0 AND s.day BETWEEN {start:Date} AND {end:Date}
GROUP BY s.currency
"""


def load_executive_weeklies(
    client: Client, params_list: Sequence[Mapping[str, str]]
) -> list[ExecutiveWeekly | ReportDataError]:
    """Every executive gets the same numbers: one load per distinct week."""
    loaded: dict[dt.date, ExecutiveWeekly | ReportDataError] = {}
    results: list[ExecutiveWeekly | ReportDataError] = []
    for params in params_list:
        try:
            monday = parse_week(KIND, params)
        except ReportDataError as error:
            results.append(error)
            continue
        if monday not in loaded:
            try:
                loaded[monday] = _load_week(client, monday, params)
            except ReportDataError as error:
                loaded[monday] = error
        results.append(loaded[monday])
    return results


def _load_week(client: Client, monday: dt.date, params: Mapping[str, str]) -> ExecutiveWeekly:
    week = f"{monday.isocalendar().year}-W{monday.isocalendar().week:02d}"
    previous_monday = monday - dt.timedelta(days=7)
    missing = query_rows(
        client,
        MISSING_RATES_SQL,
        {
            "tz": company_time_zone(),
            "reporting": reporting_currency(),
            "start": previous_monday - dt.timedelta(days=1),
            "end": monday + dt.timedelta(days=7),
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
    first = monday - dt.timedelta(weeks=TREND_WEEKS - 1)
    rows = query_rows(client, DAYS_SQL, {"start": first, "end": monday + dt.timedelta(days=6)})
    by_day = {r["day"]: r for r in rows}

    def week_days(start: dt.date) -> list[dict[str, Any] | None]:
        return [by_day.get(start + dt.timedelta(days=i)) for i in range(7)]

    weeks = [week_days(first + dt.timedelta(weeks=i)) for i in range(TREND_WEEKS)]
    kpis = []
    for metric in METRICS:
        trend = tuple(_aggregate(metric, days) for days in weeks)
        kpis.append(
            KpiValue(
                metric=metric,
                value=trend[-1],
                previous=trend[-2],
                trend=tuple(None if v is None else float(v) for v in trend),
                daily=_daily(metric, weeks[-1]),
                daily_previous=_daily(metric, weeks[-2]),
            )
        )
    return ExecutiveWeekly(
        week=week,
        week_start=monday,
        currency=reporting_currency(),
        days_reported=sum(1 for d in weeks[-1] if d is not None),
        kpis=tuple(kpis),
    )


def _number(value: Any) -> float | Decimal:
    if value is None:
        return 0
    return value if isinstance(value, Decimal) else float(value)


def _aggregate(metric: Metric, days: list[dict[str, Any] | None]) -> float | Decimal | None:
    present = [d for d in days if d is not None]
    if not present:
        return None
    if metric.how == "sum":
        return sum((_number(d[metric.column]) for d in present), Decimal(0) if metric.unit == "money" else 0.0)
    if metric.how == "mean":
        return sum(float(_number(d[metric.column])) for d in present) / len(present)
    numerator = sum(float(_number(d[metric.numerator])) for d in present)
    denominator = sum(float(_number(d[metric.denominator])) for d in present)
    if denominator == 0:
        return None
    value = numerator / denominator
    return Decimal(str(round(value, 2))) if metric.unit == "amount" else value


def _daily(metric: Metric, days: list[dict[str, Any] | None]) -> tuple[float, ...]:
    if metric.how == "ratio":
        return ()
    return tuple(float(_number(d[metric.column])) if d is not None else 0.0 for d in days)
