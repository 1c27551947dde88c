"""Sales rep monthly territory statement data: what the machines of the hospitals a rep looks after sold in a month,
per hospital, machine and kit (vends, kits, revenue, declines, stock-outs) against the month before, from
mart_sales_rep_machine_monthly. The rep's totals and their change are the metrics layer's (so a dashboard on the
mart shows the same numbers); the lines are the mart's rows and must add up to them.

A line whose revenue has no amount in the reporting currency (a missing FX rate) stops the statement: its totals,
and the trend against the month before, would be understated. Loading is batched: four queries for every rep of a
period, however many.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from clickhouse_connect.driver.client import Client

from pulse import metrics
from reports.data_common import ReportDataError, parse_id, parse_month, query_rows

KIND = "sales_rep_statement"
ZERO = Decimal("0.00")
MART = "mart_sales_rep_machine_monthly"
# The totals a statement prints, asked of the metrics layer by name (pulse/metrics.py).
FIGURES = (
    "total_completed_vends", "total_kits_sold", "revenue", "total_declines", "total_out_of_stock_declines",
    "total_stock_out_days", "previous_month_kits", "previous_month_revenue", "kits_change", "revenue_change",
)  # fmt: skip


def change(value: int | Decimal, previous: int | Decimal) -> float | None:
    """(value - previous) / previous as a float (never a truncated Decimal); None without anything before."""
    return float(value - previous) / float(previous) if previous else None


@dataclass(frozen=True)
class Figures:
    """One line's numbers, or the sum of lines (a machine, a hospital, the territory)."""

    vends: int
    kits: int
    revenue: Decimal
    declines: int
    out_of_stock_declines: int
    stock_out_days: int
    previous_kits: int
    previous_revenue: Decimal

    @property
    def kits_change(self) -> float | None:
        return change(self.kits, self.previous_kits)

    @property
    def revenue_change(self) -> float | None:
        return change(self.revenue, self.previous_revenue)

    @staticmethod
    def total(parts: Sequence[Figures]) -> Figures:
        return Figures(
            vends=sum(p.vends for p in parts), kits=sum(p.kits for p in parts),
            revenue=sum((p.revenue for p in parts), ZERO), declines=sum(p.declines for p in parts),
            out_of_stock_declines=sum(p.out_of_stock_declines for p in parts),
            stock_out_days=sum(p.stock_out_days for p in parts), previous_kits=sum(p.previous_kits for p in parts),
            previous_revenue=sum((p.previous_revenue for p in parts), ZERO),
        )  # fmt: skip


@dataclass(frozen=True)
class ProductLine:
    sku: str
    name: str
    figures: Figures


@dataclass(frozen=True)
class MachineLines:
    serial: str
    products: tuple[ProductLine, ...]
    total: Figures


@dataclass(frozen=True)
class HospitalLines:
    hospital_name: str
    machines: tuple[MachineLines, ...]
    total: Figures


@dataclass(frozen=True)
class SalesRepStatement:
    sales_rep_id: int
    name: str
    email: str
    status: str
    territory_hospitals: int  # hospitals in the territory now, with sales this month or not
    month: dt.date
    currency: str
    total: Figures
    kits_change: float | None  # the metrics layer's ratios over the territory
    revenue_change: float | None
    hospitals: tuple[HospitalLines, ...]

    kind = KIND

    @property
    def params(self) -> dict[str, str]:
        return {"sales_rep_id": str(self.sales_rep_id), "period": f"{self.month:%Y-%m}"}

    @property
    def has_activity(self) -> bool:
        return bool(self.total.vends or self.total.declines or self.total.previous_kits)


REPS_SQL = """
SELECT sales_rep_id, name, email, status, hospitals
FROM marts.dim_sales_reps
WHERE sales_rep_id IN {ids:Array(Int64)}
"""

LINES_SQL = """
SELECT sales_rep_id, hospital_name, machine_serial, product_sku, product_name, completed_vends, kits_sold,
       revenue_reporting, declines, out_of_stock_declines, stock_out_days, previous_month_kits_sold,
       previous_month_revenue_reporting
FROM marts.mart_sales_rep_machine_monthly
WHERE sales_rep_id IN {ids:Array(Int64)} AND sales_month = {month:Date}
ORDER BY sales_rep_id, hospital_name, machine_serial, product_sku
"""


def load_sales_rep_statements(
    client: Client, params_list: Sequence[Mapping[str, str]]
) -> list[SalesRepStatement | ReportDataError]:
    results: list[SalesRepStatement | ReportDataError | None] = [None] * len(params_list)
    by_month: dict[dt.date, list[tuple[int, int]]] = defaultdict(list)
    for position, params in enumerate(params_list):
        try:
            by_month[parse_month(KIND, params)].append((position, parse_id(KIND, params, "sales_rep_id")))
        except ReportDataError as error:
            results[position] = error
    for month, wanted in by_month.items():
        statements = _load_month(client, month, sorted({rep_id for _, rep_id in wanted}))
        for position, rep_id in wanted:
            results[position] = statements.get(rep_id) or ReportDataError(
                KIND,
                params_list[position],
                f"no sales rep with sales_rep_id {rep_id} in marts.dim_sales_reps",
                hint="check the id (GET /v1/sales-reps), or run dbt build if the rep was added since the last build",
            )
    return [r for r in results if r is not None]


def _load_month(client: Client, month: dt.date, ids: list[int]) -> dict[int, SalesRepStatement | ReportDataError]:
    args = {"ids": ids, "month": month}
    reps = {r["sales_rep_id"]: r for r in query_rows(client, REPS_SQL, args)}
    figures = metrics.compile_metrics(
        metrics.named(MART, *FIGURES), ["sales_rep_id"], {"sales_rep_id": [str(i) for i in ids]}, metrics.month(month)
    )
    totals = {r["sales_rep_id"]: r for r in query_rows(client, figures.sql, figures.parameters)}
    lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in query_rows(client, LINES_SQL, args):
        lines[row["sales_rep_id"]].append(row)
    out: dict[int, SalesRepStatement | ReportDataError] = {}
    for rep_id, rep in reps.items():
        try:
            out[rep_id] = _statement(rep, month, totals.get(rep_id), lines.get(rep_id, []))
        except ReportDataError as error:
            out[rep_id] = error
    return out


def _figures(row: dict[str, Any]) -> Figures:
    return Figures(
        vends=int(row["completed_vends"]), kits=int(row["kits_sold"]), revenue=row["revenue_reporting"],
        declines=int(row["declines"]), out_of_stock_declines=int(row["out_of_stock_declines"]),
        stock_out_days=int(row["stock_out_days"]), previous_kits=int(row["previous_month_kits_sold"]),
        previous_revenue=row["previous_month_revenue_reporting"],
    )  # fmt: skip


def _statement(
    rep: dict[str, Any], month: dt.date, totals: dict[str, Any] | None, rows: list[dict[str, Any]]
) -> SalesRepStatement:
    params = {"sales_rep_id": str(rep["sales_rep_id"]), "period": f"{month:%Y-%m}"}
    unpriced = sorted(
        {f"{r['machine_serial']} {r['product_sku']}" for r in rows
         if r["revenue_reporting"] is None or r["previous_month_revenue_reporting"] is None}
    )  # fmt: skip
    if unpriced:
        raise ReportDataError(
            KIND,
            params,
            f"revenue of {', '.join(unpriced[:5])}{' and more' if len(unpriced) > 5 else ''} has no amount in the "
            "reporting currency (a vend without an exchange rate on its day), so the totals would be understated",
            hint="load the missing rates (pulse extract feeds), run dbt build, and render again",
        )
    hospitals: list[HospitalLines] = []
    by_hospital: dict[str, dict[str, list[ProductLine]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:  # ordered by hospital, machine and SKU
        by_hospital[row["hospital_name"]][row["machine_serial"]].append(
            ProductLine(row["product_sku"], row["product_name"], _figures(row))
        )
    for hospital_name, machines in by_hospital.items():
        machine_lines = tuple(
            MachineLines(serial, tuple(products), Figures.total([p.figures for p in products]))
            for serial, products in machines.items()
        )
        hospitals.append(HospitalLines(hospital_name, machine_lines, Figures.total([m.total for m in machine_lines])))
    lines_total = Figures.total([h.total for h in hospitals])

    layer = totals or {}
    total = Figures(
        vends=int(layer.get("total_completed_vends") or 0), kits=int(layer.get("total_kits_sold") or 0),
        revenue=layer.get("revenue") or ZERO, declines=int(layer.get("total_declines") or 0),
        out_of_stock_declines=int(layer.get("total_out_of_stock_declines") or 0),
        stock_out_days=int(layer.get("total_stock_out_days") or 0),
        previous_kits=int(layer.get("previous_month_kits") or 0),
        previous_revenue=layer.get("previous_month_revenue") or ZERO,
    )  # fmt: skip
    # The lines must explain the totals exactly (the same table, read twice: only marts rebuilt between differ).
    if lines_total != total:
        raise ReportDataError(
            KIND,
            params,
            f"the lines ({lines_total.kits} kits, {lines_total.revenue}) do not add up to the territory's totals "
            f"({total.kits} kits, {total.revenue})",
            hint="the marts are out of step; run dbt build (pulse_elt) and render again",
        )
    return SalesRepStatement(
        sales_rep_id=int(rep["sales_rep_id"]), name=rep["name"], email=rep["email"], status=rep["status"],
        territory_hospitals=int(rep["hospitals"]), month=month, currency=metrics.reporting_currency(), total=total,
        kits_change=layer.get("kits_change"), revenue_change=layer.get("revenue_change"), hospitals=tuple(hospitals),
    )  # fmt: skip
