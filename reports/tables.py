"""A statement's tables as data: what a subscription attaches as CSV or XLSX beside the PDF.

One function per report kind takes the kind's loaded data (the same object the PDF is rendered from) and a
locale, and returns named tables: headers in the recipient's language from the PDF's message catalogue, rows of
typed values (money stays Decimal, days stay dates, ratios are fractions), so a spreadsheet can sum and sort them
and its totals are the statement's to the cent. The writers (reports/table_files.py) decide how a cell looks.

A new report kind adds its function here and names it as `tables` in its entry in reports/catalogue.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pulse.core.business import week_label
from pulse.metrics import next_month
from reports.counterparty_statement import CounterpartyStatement
from reports.customer_statement import CustomerStatement
from reports.executive_weekly import KPI_GROUPS, TREND_WEEKS, ExecutiveWeekly, KpiValue
from reports.formatting import Formatter
from reports.hospital_statement import HospitalStatement
from reports.messages import Messages, messages
from reports.sales_rep_statement import Figures, SalesRepStatement

# How a column's values are shown in a spreadsheet (the CSV keeps the plain value): money with 2 decimals,
# int as a whole number, ratio as a percentage, rate as an exchange rate (4+ decimals), number with a decimal.
Kind = Literal["text", "int", "money", "ratio", "rate", "number", "date"]
Value = str | int | float | Decimal | dt.date | None


@dataclass(frozen=True)
class Typed:
    """A cell shown unlike the rest of its column: the executive summary's value columns hold money, counts
    and ratios, one indicator per row."""

    value: Value
    kind: Kind


Cell = Value | Typed


@dataclass(frozen=True)
class Column:
    header: str  # in the recipient's language
    kind: Kind = "text"


@dataclass(frozen=True)
class Table:
    name: str  # ASCII slug: the sheet's name and the CSV file's suffix (customer-statement-...-transactions.csv)
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]

    def __post_init__(self) -> None:
        # Not an assert: a row of the wrong width must fail under python -O too, not shift columns silently.
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"table {self.name}: a row of {len(row)} cells for {len(self.columns)} columns")


def _table(name: str, columns: Sequence[Column], rows: Sequence[Sequence[Cell]]) -> Table:
    return Table(name, tuple(columns), tuple(tuple(row) for row in rows))


def _with_currency(label: str, currency: str) -> str:
    """A money column's header names its currency, as the PDF's does: "Net sales, RUB"."""
    return f"{label}, {currency}"


# -- hospital commission statement ------------------------------------------------------------------
def hospital_tables(data: HospitalStatement, locale: str) -> list[Table]:
    t = messages(locale)
    cur = data.currency
    summary = _table(
        "summary",
        [
            Column(t("hospital.code")),
            Column(t("hospital.hospital")),
            Column(t("common.period")),
            Column(t("common.currency")),
            Column(t("hospital.completed"), "int"),
            Column(t("hospital.kits_sold"), "int"),
            Column(t("hospital.refunded"), "int"),
            Column(_with_currency(t("hospital.net_sales"), cur), "money"),
            Column(t("hospital.tier_threshold"), "int"),
            Column(t("hospital.rate"), "ratio"),
            Column(_with_currency(t("hospital.commission"), cur), "money"),
        ],
        [
            [
                data.hospital_code,
                data.hospital_name,
                f"{data.month:%Y-%m}",
                cur,
                data.completed_vends,
                data.kits_sold,
                data.refunded_kits,
                data.net_sales,
                # No sales, no tier reached: the PDF prints a dash, a spreadsheet an empty cell.
                data.tier_min_monthly_kits if data.kits_sold else None,
                data.commission_rate if data.kits_sold else None,
                data.commission,
            ]
        ],
    )
    machines = _table(
        "machines",
        [
            Column(t("hospital.machine")),
            Column(t("hospital.machine_location")),
            Column(t("hospital.vends"), "int"),
            Column(t("hospital.failed"), "int"),
            Column(t("hospital.refunded"), "int"),
            Column(t("hospital.declines"), "int"),
            Column(t("hospital.kits"), "int"),
            Column(_with_currency(t("hospital.revenue"), cur), "money"),
        ],
        [
            [m.serial, m.location, m.vends, m.failed_vends, m.refunded_vends, m.declines, m.kits, m.revenue]
            for m in data.machines
        ],
    )
    products = _table(
        "products",
        [
            Column(t("hospital.sku")),
            Column(t("hospital.product")),
            Column(t("hospital.kits"), "int"),
            Column(t("hospital.share"), "ratio"),
            Column(_with_currency(t("hospital.revenue"), cur), "money"),
        ],
        [
            [p.sku, p.name, p.kits, p.kits / data.kits_sold if data.kits_sold else None, p.revenue]
            for p in data.products
        ],
    )
    days = _table(
        "days",
        [
            Column(t("common.date"), "date"),
            Column(t("hospital.kits"), "int"),
            Column(_with_currency(t("hospital.revenue"), cur), "money"),
        ],
        [[d.day, d.kits, d.revenue] for d in data.days],
    )
    tiers = _table(
        "tiers",
        [
            Column(t("hospital.tier_threshold"), "int"),
            Column(t("hospital.tier_rate"), "ratio"),
            Column(t("hospital.tier_applies")),
        ],
        [[tier.min_monthly_kits, tier.rate, t("hospital.applies_mark") if tier.reached else ""] for tier in data.tiers],
    )
    return [summary, machines, products, days, tiers]


# -- customer account statement ---------------------------------------------------------------------
def _where(line_hospital: str, location: str, source: str, home_hospital: str, t: Messages) -> str:
    """Where an entry happened, worded as the PDF words it: the machine's place, else how money came in."""
    if location:
        return f"{line_hospital}, {location}" if line_hospital != home_hospital else location
    return t(f"customer.sources.{source}")


def customer_tables(data: CustomerStatement, locale: str) -> list[Table]:
    t = messages(locale)
    cur = data.currency
    summary = _table(
        "summary",
        [
            Column(t("customer.client_id")),
            Column(t("customer.holder")),
            Column(t("common.period")),
            Column(t("common.currency")),
            Column(t("common.opening_balance"), "money"),
            Column(t("customer.topups"), "money"),
            Column(t("customer.spend"), "money"),
            Column(t("customer.refunds"), "money"),
            Column(t("customer.adjustments"), "money"),
            Column(t("customer.net_spend"), "money"),
            Column(t("common.closing_balance"), "money"),
            Column(t("customer.kits"), "int"),
        ],
        [
            [
                data.client_id,
                data.full_name,
                f"{data.month:%Y-%m}",
                cur,
                data.opening_balance,
                data.topups,
                data.gross_vend_spend,
                data.refunds,
                data.adjustments,
                data.spend,
                data.closing_balance,
                data.kits,
            ]
        ],
    )
    transactions = _table(
        "transactions",
        [
            Column(t("common.date"), "date"),
            Column(t("common.time")),
            Column(t("customer.operation")),
            Column(t("hospital.product")),
            Column(t("customer.where")),
            Column(t("customer.kits"), "int"),
            Column(_with_currency(t("common.amount"), cur), "money"),
            Column(_with_currency(t("common.balance"), cur), "money"),
        ],
        [
            [
                line.day,
                line.time,
                t(f"customer.kinds.{line.kind}"),
                line.product,
                _where(line.hospital, line.location, line.source, data.home_hospital_name, t),
                line.quantity or None,
                line.amount,
                line.balance,
            ]
            for line in data.lines
        ],
    )
    return [summary, transactions]


# -- executive weekly summary -----------------------------------------------------------------------
def _kpi_kind(kpi: KpiValue) -> Kind:
    metric = kpi.metric
    if metric.is_ratio or metric.format.endswith("%"):
        return "ratio"
    if metric.unit in ("money", "account_money"):
        return "money"
    return "int" if metric.format.endswith("d") else "number"


def _kpi_cell(value: float | Decimal | None, kind: Kind) -> Typed:
    if kind == "int" and isinstance(value, float) and value.is_integer():
        return Typed(int(value), kind)  # a count summed by the warehouse as a float: 1234, not 1234.0
    return Typed(value, kind)


def _kpi_label(kpi: KpiValue, locale: str, currency: str) -> str:
    label = kpi.label(locale)
    return _with_currency(label, currency) if kpi.metric.unit == "money" else label


def executive_tables(data: ExecutiveWeekly, locale: str) -> list[Table]:
    t = messages(locale)
    ordered = [(group, kpi) for group in KPI_GROUPS for kpi in data.kpis if kpi.kpi.group == group]
    kpis = _table(
        "kpis",
        [
            Column(t("executive.group")),
            Column(t("executive.metric")),
            Column(t("executive.this_week")),
            Column(t("executive.previous_week")),
            Column(t("executive.change"), "ratio"),
        ],
        [
            [
                t(f"executive.groups.{group}"),
                _kpi_label(kpi, locale, data.currency),
                _kpi_cell(kpi.value, _kpi_kind(kpi)),
                _kpi_cell(kpi.previous, _kpi_kind(kpi)),
                kpi.change,
            ]
            for group, kpi in ordered
        ],
    )
    first = data.week_start - dt.timedelta(weeks=TREND_WEEKS - 1)
    weeks = [week_label(first + dt.timedelta(weeks=i)) for i in range(TREND_WEEKS)]
    trend = _table(
        "trend",
        [
            Column(t("executive.metric")),
            *(Column(t("executive.week", week=w.split("-W")[1].lstrip("0"))) for w in weeks),
        ],
        [
            [
                _kpi_label(kpi, locale, data.currency),
                # The trend keeps floats (it draws sparklines); money goes back to cents for the sheet.
                *(
                    _kpi_cell(Decimal(repr(v)).quantize(Decimal("0.01")), "money")
                    if v is not None and _kpi_kind(kpi) == "money"
                    else _kpi_cell(v, _kpi_kind(kpi))
                    for v in kpi.trend
                ),
            ]
            for _, kpi in ordered
        ],
    )
    return [kpis, trend]


# -- counterparty settlement statement --------------------------------------------------------------
def counterparty_tables(data: CounterpartyStatement, locale: str) -> list[Table]:
    t = messages(locale)
    fmt = Formatter(locale)
    reporting = data.reporting_currency
    last_day = next_month(data.month) - dt.timedelta(days=1)  # the PDF's "Rate on <last day>" header
    balances = _table(
        "balances",
        [
            Column(t("counterparty.currency")),
            Column(t("counterparty.opening"), "money"),
            Column(t("counterparty.invoiced"), "money"),
            Column(t("counterparty.paid"), "money"),
            Column(t("counterparty.refused"), "money"),
            Column(t("counterparty.closing"), "money"),
            Column(t("counterparty.closing_rate", date=fmt.date(last_day)), "rate"),
            Column(t("counterparty.closing_reporting", currency=reporting), "money"),
        ],
        [
            [b.currency, b.opening, b.invoiced, b.paid, b.refused, b.closing, b.closing_rate, b.closing_reporting]
            for b in data.balances
        ],
    )
    reporting_amount = Column(t("counterparty.reporting_amount", currency=reporting), "money")
    invoices = _table(
        "invoices",
        [
            Column(t("counterparty.number")),
            Column(t("counterparty.issued"), "date"),
            Column(t("counterparty.due"), "date"),
            Column(t("counterparty.status")),
            Column(t("counterparty.original"), "money"),
            Column(t("counterparty.currency")),
            Column(t("counterparty.rate"), "rate"),
            Column(t("counterparty.rate_date"), "date"),
            reporting_amount,
        ],
        [
            [
                i.number,
                i.issued_on,
                i.due_on,
                t(f"counterparty.statuses.{i.status}"),
                i.amount,
                i.currency,
                i.rate,
                i.rate_date,
                i.amount_reporting,
            ]
            for i in data.invoices
        ],
    )
    payments = _table(
        "payments",
        [
            Column(t("counterparty.paid_on"), "date"),
            Column(t("counterparty.for_invoice")),
            Column(t("counterparty.original"), "money"),
            Column(t("counterparty.currency")),
            Column(t("counterparty.rate"), "rate"),
            Column(t("counterparty.rate_date"), "date"),
            reporting_amount,
        ],
        [
            [p.paid_on, p.invoice_number, p.amount, p.currency, p.rate, p.rate_date, p.amount_reporting]
            for p in data.payments
        ],
    )
    refusals = _table(
        "refusals",
        [
            Column(t("counterparty.refused_on"), "date"),
            Column(t("counterparty.for_invoice")),
            Column(t("counterparty.reason")),
            Column(t("counterparty.original"), "money"),
            Column(t("counterparty.currency")),
            Column(t("counterparty.rate"), "rate"),
            Column(t("counterparty.rate_date"), "date"),
            reporting_amount,
        ],
        [
            [
                r.refused_on,
                r.invoice_number,
                t(f"counterparty.reasons.{r.reason}"),
                r.amount,
                r.currency,
                r.rate,
                r.rate_date,
                r.amount_reporting,
            ]
            for r in data.refusals
        ],
    )
    return [balances, invoices, payments, refusals]


# -- sales rep territory statement --------------------------------------------------------------------
def _figures_columns(t: Messages, currency: str) -> list[Column]:
    return [
        Column(t("sales_rep.vends"), "int"),
        Column(t("sales_rep.kits"), "int"),
        Column(f"{t('sales_rep.kits_short')}: {t('sales_rep.previous')}", "int"),
        Column(f"{t('sales_rep.kits_short')}: {t('sales_rep.change')}", "ratio"),
        Column(_with_currency(t("sales_rep.revenue"), currency), "money"),
        Column(_with_currency(f"{t('sales_rep.revenue')}: {t('sales_rep.previous')}", currency), "money"),
        Column(f"{t('sales_rep.revenue')}: {t('sales_rep.change')}", "ratio"),
        Column(t("sales_rep.declines"), "int"),
        Column(t("sales_rep.stock_outs"), "int"),
        Column(t("sales_rep.stock_out_days_long"), "int"),
    ]


def _figures(f: Figures, kits_change: float | None, revenue_change: float | None) -> list[Cell]:
    return [
        f.vends, f.kits, f.previous_kits, kits_change, f.revenue, f.previous_revenue, revenue_change, f.declines,
        f.out_of_stock_declines, f.stock_out_days,
    ]  # fmt: skip


def sales_rep_tables(data: SalesRepStatement, locale: str) -> list[Table]:
    t = messages(locale)
    summary = _table(
        "summary",
        [
            Column(t("sales_rep.rep")),
            Column(t("common.period")),
            Column(t("common.currency")),
            Column(t("sales_rep.hospitals"), "int"),
            *_figures_columns(t, data.currency),
        ],
        # The territory's changes are the metrics layer's, as the PDF prints them.
        [
            [
                data.name,
                f"{data.month:%Y-%m}",
                data.currency,
                data.territory_hospitals,
                *_figures(data.total, data.kits_change, data.revenue_change),
            ]
        ],
    )
    # One row per kit of a machine, no subtotal rows: a spreadsheet's sum of a column is the territory's total.
    lines = _table(
        "lines",
        [
            Column(t("hospital.hospital")),
            Column(t("hospital.machine")),
            Column(t("hospital.sku")),
            Column(t("sales_rep.kit")),
            *_figures_columns(t, data.currency),
        ],
        [
            [
                hospital.hospital_name,
                machine.serial,
                p.sku,
                p.name,
                *_figures(p.figures, p.figures.kits_change, p.figures.revenue_change),
            ]
            for hospital in data.hospitals
            for machine in hospital.machines
            for p in machine.products
        ],
    )
    return [summary, lines]
