"""Hospital monthly commission statement data: the statement's figures (kits, refunds, net sales, commission) as
the metrics layer defines them on mart_hospital_commissions_monthly (so the dashboard shows the same numbers),
the line's tier reached and its rate, the plan's tiers, and where the sales came from (per machine and day
from mart_vending_daily, per kit from mart_hospital_kit_sales_monthly), all in the hospital's local calendar month.

The breakdowns must add up to the statement line, and a completed vend without an amount in the reporting currency (no FX rate on
its day) stops the statement: its net sales, and so the commission, would be understated.
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

KIND = "hospital_statement"
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Tier:
    min_monthly_kits: int
    rate: Decimal
    reached: bool  # the tier whose rate applies this month


@dataclass(frozen=True)
class MachineSales:
    serial: str
    location: str
    vends: int
    completed_vends: int
    failed_vends: int
    refunded_vends: int
    kits: int
    revenue: Decimal
    authorisations: int
    declines: int


@dataclass(frozen=True)
class ProductSales:
    sku: str
    name: str
    kits: int
    revenue: Decimal


@dataclass(frozen=True)
class DaySales:
    day: dt.date
    kits: int
    revenue: Decimal


@dataclass(frozen=True)
class HospitalStatement:
    hospital_id: int
    hospital_code: str
    hospital_name: str
    city: str
    region: str
    time_zone: str
    plan_code: str
    plan_name: str
    month: dt.date
    currency: str
    completed_vends: int
    kits_sold: int
    refunded_kits: int
    net_sales: Decimal
    tier_min_monthly_kits: int
    commission_rate: Decimal
    commission: Decimal
    tiers: tuple[Tier, ...]
    machines: tuple[MachineSales, ...]
    products: tuple[ProductSales, ...]
    days: tuple[DaySales, ...]  # every day of the month, zeros included (the chart's x axis)

    kind = KIND

    @property
    def params(self) -> dict[str, str]:
        return {"hospital_id": str(self.hospital_id), "period": f"{self.month:%Y-%m}"}

    @property
    def has_activity(self) -> bool:
        return self.completed_vends > 0 or any(m.vends for m in self.machines)


HOSPITALS_SQL = """
SELECT hospital_id, hospital_code, hospital_name, city, region, time_zone,
       coalesce(commission_plan_id, 0) AS plan_id, commission_plan_code, commission_plan_name
FROM marts.dim_hospitals
WHERE hospital_id IN {ids:Array(Int64)}
"""

# The figures a statement prints, asked of the metrics layer by name (pulse/metrics.py).
MART = "mart_hospital_commissions_monthly"
FIGURES = ("total_kits_sold", "total_refunded_kits", "net_sales", "commission")

LINES_SQL = """
SELECT hospital_id, completed_vends, tier_min_monthly_kits, commission_rate, currency
FROM marts.mart_hospital_commissions_monthly
WHERE hospital_id IN {ids:Array(Int64)} AND sales_month = {month:Date}
"""

TIERS_SQL = """
SELECT commission_plan_id AS plan_id, min_monthly_kits, rate
FROM marts.dim_commission_tiers
WHERE commission_plan_id IN {plans:Array(Int64)}
ORDER BY plan_id, min_monthly_kits
"""

MACHINES_SQL = """
SELECT d.hospital_id AS hospital_id, d.machine_serial AS serial, any(coalesce(m.location, '')) AS location,
       sum(d.vends) AS vends, sum(d.completed_vends) AS completed_vends, sum(d.failed_vends) AS failed_vends,
       sum(d.refunded_vends) AS refunded_vends, sum(d.kits_sold) AS kits, sum(coalesce(d.revenue_reporting, 0)) AS revenue,
       sum(d.authorisations) AS authorisations, sum(d.declines) AS declines
FROM marts.mart_vending_daily AS d
LEFT JOIN marts.dim_machines AS m ON m.machine_id = d.machine_id
WHERE d.hospital_id IN {ids:Array(Int64)} AND toStartOfMonth(d.day) = {month:Date}
GROUP BY hospital_id, serial
ORDER BY hospital_id, serial
"""

DAYS_SQL = """
SELECT hospital_id, day, sum(kits_sold) AS kits, sum(coalesce(revenue_reporting, 0)) AS revenue
FROM marts.mart_vending_daily
WHERE hospital_id IN {ids:Array(Int64)} AND toStartOfMonth(day) = {month:Date}
GROUP BY hospital_id, day
"""

# Completed sales by kit, from the layer; a vend in another currency without a rate has no amount in the reporting currency (counted
# apart, and it stops the statement).
KITS_MART = "mart_hospital_kit_sales_monthly"
WITHOUT_RATE_SQL = """
SELECT hospital_id, sum(vends_without_rate) AS without_rate,
       arrayDistinct(arrayFlatten(groupArray(currencies_without_rate))) AS currencies
FROM marts.mart_hospital_kit_sales_monthly
WHERE hospital_id IN {ids:Array(Int64)} AND sales_month = {month:Date} AND vends_without_rate > 0
GROUP BY hospital_id
"""


def load_hospital_statements(
    client: Client, params_list: Sequence[Mapping[str, str]]
) -> list[HospitalStatement | ReportDataError]:
    results: list[HospitalStatement | ReportDataError | None] = [None] * len(params_list)
    by_month: dict[dt.date, list[tuple[int, int]]] = defaultdict(list)
    for position, params in enumerate(params_list):
        try:
            by_month[parse_month(KIND, params)].append((position, parse_id(KIND, params, "hospital_id")))
        except ReportDataError as error:
            results[position] = error
    for month, wanted in by_month.items():
        statements = _load_month(client, month, sorted({hid for _, hid in wanted}))
        for position, hospital_id in wanted:
            results[position] = statements.get(hospital_id) or ReportDataError(
                KIND,
                params_list[position],
                f"no hospital with hospital_id {hospital_id} in marts.dim_hospitals",
                hint="check the id, or run dbt build if the hospital was added since the last build",
            )
    return [r for r in results if r is not None]


def _grouped(rows: list[dict[str, Any]], key: str = "hospital_id") -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row[key]].append(row)
    return grouped


def _load_month(client: Client, month: dt.date, ids: list[int]) -> dict[int, HospitalStatement | ReportDataError]:
    args = {"ids": ids, "month": month}
    hospitals = {r["hospital_id"]: r for r in query_rows(client, HOSPITALS_SQL, args)}
    figures = metrics.compile_metrics(
        metrics.named(MART, *FIGURES), ["hospital_id"], {"hospital_id": [str(i) for i in ids]}, metrics.month(month)
    )
    lines = {r["hospital_id"]: r for r in query_rows(client, LINES_SQL, args)}
    for row in query_rows(client, figures.sql, figures.parameters):
        lines[row["hospital_id"]].update(row)
    plans = sorted({h["plan_id"] for h in hospitals.values()})
    tiers = _grouped(query_rows(client, TIERS_SQL, {"plans": plans}), "plan_id")
    machines = _grouped(query_rows(client, MACHINES_SQL, args))
    days = _grouped(query_rows(client, DAYS_SQL, args))
    kits = metrics.compile_metrics(
        metrics.named(KITS_MART, "product_kits_sold", "product_revenue"), ["hospital_id", "sku", "product_name"],
        {"hospital_id": [str(i) for i in ids]}, metrics.month(month),
    )  # fmt: skip
    products = _grouped(query_rows(client, kits.sql, kits.parameters))
    without_rate = {r["hospital_id"]: r for r in query_rows(client, WITHOUT_RATE_SQL, args)}
    out: dict[int, HospitalStatement | ReportDataError] = {}
    for hospital_id, hospital in hospitals.items():
        try:
            out[hospital_id] = _statement(
                hospital, month, lines.get(hospital_id), tiers.get(hospital["plan_id"], []),
                machines.get(hospital_id, []), days.get(hospital_id, []), products.get(hospital_id, []),
                without_rate.get(hospital_id),
            )  # fmt: skip
        except ReportDataError as error:
            out[hospital_id] = error
    return out


def _statement(
    hospital: dict[str, Any],
    month: dt.date,
    line: dict[str, Any] | None,
    tiers: list[dict[str, Any]],
    machines: list[dict[str, Any]],
    days: list[dict[str, Any]],
    products: list[dict[str, Any]],
    without_rate: dict[str, Any] | None,
) -> HospitalStatement:
    params = {"hospital_id": str(hospital["hospital_id"]), "period": f"{month:%Y-%m}"}
    if without_rate:
        currencies = sorted(without_rate["currencies"])
        raise ReportDataError(
            KIND,
            params,
            f"{without_rate['without_rate']} completed vend(s) in {', '.join(currencies)} have no "
            "exchange rate to the reporting currency on their day, so net sales and commission would be understated",
            hint=f"load the central bank's rates for {', '.join(currencies)} (pulse extract feeds), run dbt build, "
            "and render again",
        )
    has_line = line is not None  # a month without sales has no line: no tier was reached
    if line is None:
        line = {
            "completed_vends": 0, "total_kits_sold": 0, "total_refunded_kits": 0, "net_sales": ZERO,
            "tier_min_monthly_kits": 0, "commission_rate": Decimal("0"), "commission": ZERO,
            "currency": metrics.reporting_currency(),
        }  # fmt: skip
    kits, net_sales = int(line["total_kits_sold"]), line["net_sales"] or ZERO

    machine_rows = tuple(
        MachineSales(
            serial=m["serial"], location=m["location"], vends=int(m["vends"]), completed_vends=int(m["completed_vends"]),
            failed_vends=int(m["failed_vends"]), refunded_vends=int(m["refunded_vends"]), kits=int(m["kits"]),
            revenue=m["revenue"], authorisations=int(m["authorisations"]), declines=int(m["declines"]),
        )
        for m in machines
    )  # fmt: skip
    product_rows = tuple(
        ProductSales(p["sku"], p["product_name"], int(p["product_kits_sold"]), p["product_revenue"] or ZERO)
        for p in sorted(products, key=lambda p: (-p["product_kits_sold"], p["sku"]))
    )
    by_day = {d["day"]: d for d in days}
    day_rows: list[DaySales] = []
    day = month
    while day.month == month.month:
        found = by_day.get(day)
        day_rows.append(DaySales(day, int(found["kits"]) if found else 0, found["revenue"] if found else ZERO))
        day += dt.timedelta(days=1)

    # Every breakdown must explain the statement line exactly.
    for name, rows_kits, rows_revenue in (
        ("machines", sum(m.kits for m in machine_rows), sum((m.revenue for m in machine_rows), ZERO)),
        ("kits", sum(p.kits for p in product_rows), sum((p.revenue for p in product_rows), ZERO)),
        ("days", sum(d.kits for d in day_rows), sum((d.revenue for d in day_rows), ZERO)),
    ):
        if rows_kits != kits or rows_revenue != net_sales:
            raise ReportDataError(
                KIND,
                params,
                f"the breakdown by {name} ({rows_kits} kits, {rows_revenue}) does not add up to the commission line "
                f"({kits} kits, {net_sales})",
                hint="the marts are out of step; run dbt build (pulse_elt) and render again",
            )

    tier_min = int(line["tier_min_monthly_kits"])
    return HospitalStatement(
        hospital_id=int(hospital["hospital_id"]), hospital_code=hospital["hospital_code"],
        hospital_name=hospital["hospital_name"], city=hospital["city"], region=hospital["region"],
        time_zone=hospital["time_zone"], plan_code=hospital["commission_plan_code"],
        plan_name=hospital["commission_plan_name"], month=month, currency=line["currency"],
        completed_vends=int(line["completed_vends"]), kits_sold=kits, refunded_kits=int(line["total_refunded_kits"]),
        net_sales=net_sales, tier_min_monthly_kits=tier_min, commission_rate=line["commission_rate"],
        commission=line["commission"] or ZERO,
        tiers=tuple(
            Tier(int(t["min_monthly_kits"]), t["rate"], has_line and int(t["min_monthly_kits"]) == tier_min)
            for t in tiers
        ),
        machines=machine_rows, products=product_rows, days=tuple(day_rows),
    )  # fmt: skip
