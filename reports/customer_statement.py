"""Customer monthly statement data: the month's totals as the metrics layer defines them on
mart_customer_spend_monthly, and every ledger entry of the month (fct_account_entries, with the kit and machine
of each vend) with a running balance.

The lines must add up to the mart's totals; if they do not (marts rebuilt halfway), loading fails instead of
printing a statement whose lines contradict its totals. Loading is batched: one query per table for every
recipient of a period, so a thousand statements cost four queries.
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
from pulse.metrics import next_month
from reports.data_common import (
    ReportDataError,
    company_time_zone,
    parse_id,
    parse_month,
    query_rows,
)

KIND = "customer_statement"
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class LedgerLine:
    day: dt.date
    time: str  # HH:MM in the company time zone
    kind: str  # topup, vend, refund, adjustment
    source: str  # web_portal, phone_operator, payroll, machine, admin
    product: str  # kit bought or refunded ('' for money movements)
    quantity: int  # kits (0 for money movements)
    hospital: str  # hospital of the machine of a vend ('' for money movements)
    location: str  # where the machine stands in it
    amount: Decimal  # signed: credit > 0, debit < 0
    balance: Decimal  # running balance after the entry


@dataclass(frozen=True)
class CustomerStatement:
    customer_id: int
    client_id: str
    full_name: str
    role: str
    email: str
    home_hospital_name: str
    month: dt.date
    currency: str
    opening_balance: Decimal
    topups: Decimal
    gross_vend_spend: Decimal
    refunds: Decimal
    spend: Decimal
    adjustments: Decimal
    closing_balance: Decimal
    kits: int
    vends: int
    lines: tuple[LedgerLine, ...]

    kind = KIND

    @property
    def params(self) -> dict[str, str]:
        return {"customer_id": str(self.customer_id), "period": f"{self.month:%Y-%m}"}

    @property
    def has_activity(self) -> bool:
        return bool(self.lines) or self.kits > 0


CUSTOMERS_SQL = """
SELECT customer_id, client_id, full_name, role, coalesce(email, '') AS email, home_hospital_name, account_currency
FROM marts.dim_customers
WHERE customer_id IN {ids:Array(Int64)}
"""

# The month's totals, asked of the metrics layer by name (pulse/metrics.py), as the statement's fields.
MART = "mart_customer_spend_monthly"
FIGURES = {
    "topups": "account_topups", "gross_vend_spend": "account_gross_vend_spend", "refunds": "account_refunds",
    "spend": "account_spend", "adjustments": "account_adjustments", "opening_balance": "opening_balances",
    "closing_balance": "customer_balances", "kits": "total_kits", "vends": "total_vends",
}  # fmt: skip
MONEY = ("topups", "gross_vend_spend", "refunds", "spend", "adjustments")

# A customer without a row in the month had no activity in it: the balance carried from the latest month before.
CARRIED_SQL = """
SELECT customer_id, closing_balance
FROM marts.mart_customer_spend_monthly
WHERE customer_id IN {ids:Array(Int64)} AND month < {month:Date}
ORDER BY customer_id, month DESC
LIMIT 1 BY customer_id
"""

ENTRIES_SQL = """
SELECT e.customer_id AS customer_id,
       toDate(e.occurred_at, {tz:String}) AS day,
       formatDateTime(e.occurred_at, '%H:%i', {tz:String}) AS time,
       e.kind AS kind, e.entry_source AS source, e.amount AS amount, e.currency AS currency,
       coalesce(p.product_name, '') AS product, coalesce(v.quantity, 0) AS quantity,
       coalesce(m.hospital_name, '') AS hospital, coalesce(m.location, '') AS location
FROM marts.fct_account_entries AS e
LEFT JOIN marts.fct_vend_transactions AS v ON v.vend_transaction_id = e.vend_transaction_id
LEFT JOIN marts.dim_products AS p ON p.product_id = v.product_id
LEFT JOIN marts.dim_machines AS m ON m.machine_id = v.machine_id
WHERE e.customer_id IN {ids:Array(Int64)}
  AND e.occurred_at >= toDateTime64({start:String}, 6, {tz:String})
  AND e.occurred_at < toDateTime64({end:String}, 6, {tz:String})
ORDER BY e.customer_id, e.occurred_at, e.account_entry_id
"""


def load_customer_statements(
    client: Client, params_list: Sequence[Mapping[str, str]]
) -> list[CustomerStatement | ReportDataError]:
    """One result per params, in order: the statement, or the error that stops that one recipient."""
    results: list[CustomerStatement | ReportDataError | None] = [None] * len(params_list)
    by_month: dict[dt.date, list[tuple[int, int]]] = defaultdict(list)  # month -> (position, customer_id)
    for position, params in enumerate(params_list):
        try:
            by_month[parse_month(KIND, params)].append((position, parse_id(KIND, params, "customer_id")))
        except ReportDataError as error:
            results[position] = error
    for month, wanted in by_month.items():
        statements = _load_month(client, month, sorted({cid for _, cid in wanted}))
        for position, customer_id in wanted:
            results[position] = statements.get(customer_id) or ReportDataError(
                KIND,
                params_list[position],
                f"no customer with customer_id {customer_id} in marts.dim_customers",
                hint="check the id (pulse reports lists recipients), or run dbt build if the customer is new",
            )
    return [r for r in results if r is not None]


def _load_month(client: Client, month: dt.date, ids: list[int]) -> dict[int, CustomerStatement | ReportDataError]:
    tz = company_time_zone()
    customers = {r["customer_id"]: r for r in query_rows(client, CUSTOMERS_SQL, {"ids": ids})}
    figures = metrics.compile_metrics(
        metrics.named(MART, *FIGURES.values()), ["customer_id"], {"customer_id": [str(i) for i in ids]},
        metrics.month(month),
    )  # fmt: skip
    months = {
        r["customer_id"]: {field: r[name] for field, name in FIGURES.items()}
        for r in query_rows(client, figures.sql, figures.parameters)
    }
    carried = {
        r["customer_id"]: r["closing_balance"] for r in query_rows(client, CARRIED_SQL, {"ids": ids, "month": month})
    }
    entries: dict[int, list[dict[str, Any]]] = defaultdict(list)
    bounds = {"start": f"{month} 00:00:00", "end": f"{next_month(month)} 00:00:00", "tz": tz}
    for row in query_rows(client, ENTRIES_SQL, {"ids": ids, **bounds}):
        entries[row["customer_id"]].append(row)
    out: dict[int, CustomerStatement | ReportDataError] = {}
    for customer_id, customer in customers.items():
        try:
            out[customer_id] = _statement(
                customer, month, months.get(customer_id), carried.get(customer_id, ZERO), entries.get(customer_id, [])
            )
        except ReportDataError as error:
            out[customer_id] = error
    return out


def _statement(
    customer: dict[str, Any],
    month: dt.date,
    figures: dict[str, Any] | None,
    carried: Decimal,
    entries: list[dict[str, Any]],
) -> CustomerStatement:
    params = {"customer_id": str(customer["customer_id"]), "period": f"{month:%Y-%m}"}
    currency = customer["account_currency"]  # a statement is in the account's currency, never converted
    if figures is not None:
        totals = {k: figures[k] for k in MONEY}
        opening, closing = figures["opening_balance"], figures["closing_balance"]
        kits, vends = int(figures["kits"]), int(figures["vends"])
    else:
        # No row for the month: no activity in it; the balance is the last month's closing balance (or zero).
        totals = dict.fromkeys(MONEY, ZERO)
        opening = closing = carried
        kits = vends = 0

    lines: list[LedgerLine] = []
    balance = opening
    sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for entry in entries:
        if entry["currency"] != currency:
            raise ReportDataError(
                KIND,
                params,
                f"ledger entry in {entry['currency']} on {entry['day']}, the account is in {currency}",
                hint="an account's entries are all in its currency; correct the entry in the operational store",
            )
        balance += entry["amount"]
        sums[entry["kind"]] += entry["amount"]
        lines.append(
            LedgerLine(
                day=entry["day"], time=entry["time"], kind=entry["kind"], source=entry["source"],
                product=entry["product"], quantity=int(entry["quantity"] or 0), hospital=entry["hospital"],
                location=entry["location"],
                amount=entry["amount"], balance=balance,
            )
        )  # fmt: skip

    # The printed lines must explain the printed totals exactly.
    expected = {
        "topup": totals["topups"],
        "vend": -totals["gross_vend_spend"],
        "refund": totals["refunds"],
        "adjustment": totals["adjustments"],
    }
    mismatched = [k for k, v in expected.items() if sums[k] != v]
    if mismatched or balance != closing:
        raise ReportDataError(
            KIND,
            params,
            f"ledger lines do not add up to mart_customer_spend_monthly ({', '.join(mismatched) or 'closing balance'})",
            hint="the marts are out of step with the facts; run `dbt build` (pulse_elt) and render again",
        )
    return CustomerStatement(
        customer_id=int(customer["customer_id"]), client_id=customer["client_id"], full_name=customer["full_name"],
        role=customer["role"], email=customer["email"], home_hospital_name=customer["home_hospital_name"],
        month=month, currency=currency, opening_balance=opening, closing_balance=closing, kits=kits, vends=vends,
        lines=tuple(lines), **totals,
    )  # fmt: skip
