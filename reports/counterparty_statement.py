"""Counterparty settlement statement data: what the counterparty owes the company. The month's invoices
(mart_receivables), payments received (fct_payments, direction receivable) and refusals to pay
(mart_invoice_refusals, written off), each in its original currency and in the reporting currency at the central
bank's rate of its own day (the most recent rate on or before it, as the marts convert), the balance owed at the
start and end of the month per currency, and the closing balance revalued at the month-end rate. What the company
owes a counterparty (mart_payables) is not on it.

An invoice, payment or refusal without a rate on or before its day stops the statement (ReportDataError): a
settlement statement with a guessed or missing conversion is worse than none.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from clickhouse_connect.driver.client import Client

from pulse.metrics import next_month, reporting_currency
from reports.data_common import (
    ReportDataError,
    parse_id,
    parse_month,
    query_rows,
)

KIND = "counterparty_statement"
ZERO = Decimal("0.00")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class InvoiceLine:
    number: str
    issued_on: dt.date
    due_on: dt.date | None
    status: str
    currency: str
    amount: Decimal
    rate: Decimal  # reporting currency per unit, on the issue date
    rate_date: dt.date
    amount_reporting: Decimal  # mart_receivables.amount_reporting
    counts: bool  # cancelled invoices are listed but owe nothing


@dataclass(frozen=True)
class PaymentLine:
    paid_on: dt.date
    invoice_number: str  # '' for a payment not matched to an invoice
    currency: str
    amount: Decimal
    rate: Decimal
    rate_date: dt.date
    amount_reporting: Decimal


@dataclass(frozen=True)
class RefusalLine:
    refused_on: dt.date
    invoice_number: str
    reason: str  # REFUSAL_REASONS
    currency: str
    amount: Decimal
    rate: Decimal
    rate_date: dt.date
    amount_reporting: Decimal


@dataclass(frozen=True)
class CurrencyBalance:
    """What the counterparty owes in one currency: start of month + invoiced - paid - refused = end of month."""

    currency: str
    opening: Decimal
    invoiced: Decimal
    paid: Decimal
    refused: Decimal
    closing: Decimal
    invoiced_reporting: Decimal  # at each invoice's issue-date rate
    paid_reporting: Decimal  # at each payment's value-date rate
    refused_reporting: Decimal  # at each refusal's date rate
    closing_rate: Decimal | None  # rate on the last day of the month (or the latest before it); None if nothing owed
    closing_rate_date: dt.date | None
    closing_reporting: Decimal  # closing balance revalued at closing_rate


@dataclass(frozen=True)
class CounterpartyStatement:
    counterparty_id: int
    external_id: str
    name: str
    counterparty_kind: str  # insurer, assistance, partner_clinic, other
    country: str
    invoicing_currency: str
    month: dt.date
    reporting_currency: str
    invoices: tuple[InvoiceLine, ...]
    payments: tuple[PaymentLine, ...]
    refusals: tuple[RefusalLine, ...]
    balances: tuple[CurrencyBalance, ...]  # the invoicing currency first, then any other with an amount

    kind = KIND

    @property
    def params(self) -> dict[str, str]:
        return {"counterparty_id": str(self.counterparty_id), "period": f"{self.month:%Y-%m}"}

    @property
    def has_activity(self) -> bool:
        return bool(self.invoices or self.payments or self.refusals)

    @property
    def closing_reporting_total(self) -> Decimal:
        return sum((b.closing_reporting for b in self.balances), ZERO)


COUNTERPARTIES_SQL = """
SELECT counterparty_id, coalesce(counterparty_external_id, '') AS external_id, counterparty_name AS name, kind,
       coalesce(country, '') AS country, invoicing_currency
FROM marts.dim_counterparties
WHERE counterparty_id IN {ids:Array(Int64)}
"""

# Invoices of the month with the rate the mart converted at (ASOF: most recent on or before the issue date).
INVOICES_SQL = """
SELECT r.counterparty_id AS counterparty_id, r.invoice_number AS number, r.issued_on AS issued_on,
       r.due_on AS due_on, r.status AS status, r.currency AS currency, r.amount AS amount,
       r.amount_reporting AS amount_reporting, fx.rate_to_reporting AS rate, fx.rate_date AS rate_date, fx.has_rate AS has_rate
FROM marts.mart_receivables AS r
ASOF LEFT JOIN marts.fct_fx_rates AS fx ON fx.currency = r.currency AND fx.rate_date <= r.issued_on
WHERE r.counterparty_id IN {ids:Array(Int64)} AND r.issued_on >= {start:Date} AND r.issued_on < {end:Date}
ORDER BY r.counterparty_id, r.issued_on, r.invoice_number
"""

PAYMENTS_SQL = """
SELECT counterparty_id, paid_on, invoice_number, currency, amount, rate_to_reporting AS rate, rate_date, has_rate,
       amount_reporting AS amount_reporting
FROM marts.fct_payments
WHERE counterparty_id IN {ids:Array(Int64)} AND paid_on >= {start:Date} AND paid_on < {end:Date}
  AND direction = 'receivable'
ORDER BY counterparty_id, paid_on, payment_id
"""

REFUSALS_SQL = """
SELECT r.counterparty_id AS counterparty_id, r.refused_on AS refused_on, r.invoice_number AS invoice_number,
       r.reason AS reason, r.currency AS currency, r.amount AS amount, r.amount_reporting AS amount_reporting,
       fx.rate_to_reporting AS rate, fx.rate_date AS rate_date, fx.has_rate AS has_rate
FROM marts.mart_invoice_refusals AS r
ASOF LEFT JOIN marts.fct_fx_rates AS fx ON fx.currency = r.currency AND fx.rate_date <= r.refused_on
WHERE r.counterparty_id IN {ids:Array(Int64)} AND r.refused_on >= {start:Date} AND r.refused_on < {end:Date}
  AND r.invoice_status != 'cancelled'
ORDER BY r.counterparty_id, r.refused_on, r.refusal_id
"""

# Balance owed before the month, per currency: invoices issued (not cancelled) minus payments received and minus
# amounts refused (written off) of invoices not cancelled since (a cancelled invoice is owed nothing at all).
OPENING_SQL = """
SELECT counterparty_id, currency, sum(amount) AS owed
FROM (
    SELECT counterparty_id, currency, amount FROM marts.mart_receivables
    WHERE counterparty_id IN {ids:Array(Int64)} AND issued_on < {start:Date} AND status != 'cancelled'
    UNION ALL
    SELECT counterparty_id, currency, -amount FROM marts.fct_payments
    WHERE counterparty_id IN {ids:Array(Int64)} AND paid_on < {start:Date} AND direction = 'receivable'
    UNION ALL
    SELECT counterparty_id, currency, -amount FROM marts.mart_invoice_refusals
    WHERE counterparty_id IN {ids:Array(Int64)} AND refused_on < {start:Date} AND invoice_status != 'cancelled'
)
GROUP BY counterparty_id, currency
"""

# The rate of each currency on the month's last day (or the latest published before it).
CLOSING_RATES_SQL = """
SELECT currency, argMax(rate_to_reporting, fx.rate_date) AS rate, max(fx.rate_date) AS published_on
FROM marts.fct_fx_rates AS fx
WHERE currency IN {currencies:Array(String)} AND fx.rate_date <= {last_day:Date}
GROUP BY currency
"""


def load_counterparty_statements(
    client: Client, params_list: Sequence[Mapping[str, str]]
) -> list[CounterpartyStatement | ReportDataError]:
    results: list[CounterpartyStatement | ReportDataError | None] = [None] * len(params_list)
    by_month: dict[dt.date, list[tuple[int, int]]] = defaultdict(list)
    for position, params in enumerate(params_list):
        try:
            by_month[parse_month(KIND, params)].append((position, parse_id(KIND, params, "counterparty_id")))
        except ReportDataError as error:
            results[position] = error
    for month, wanted in by_month.items():
        statements = _load_month(client, month, sorted({cid for _, cid in wanted}))
        for position, counterparty_id in wanted:
            results[position] = statements.get(counterparty_id) or ReportDataError(
                KIND,
                params_list[position],
                f"no counterparty with counterparty_id {counterparty_id} in marts.dim_counterparties",
                hint="check the id, or run dbt build if the counterparty was added since the last build",
            )
    return [r for r in results if r is not None]


def _grouped(rows: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row["counterparty_id"]].append(row)
    return grouped


def _load_month(client: Client, month: dt.date, ids: list[int]) -> dict[int, CounterpartyStatement | ReportDataError]:
    args = {"ids": ids, "start": month, "end": next_month(month)}
    parties = {r["counterparty_id"]: r for r in query_rows(client, COUNTERPARTIES_SQL, {"ids": ids})}
    invoices = _grouped(query_rows(client, INVOICES_SQL, args))
    payments = _grouped(query_rows(client, PAYMENTS_SQL, args))
    refusals = _grouped(query_rows(client, REFUSALS_SQL, args))
    opening = _grouped(query_rows(client, OPENING_SQL, args))
    currencies = sorted(
        {p["invoicing_currency"] for p in parties.values()}
        | {
            r["currency"]
            for rows in (*invoices.values(), *payments.values(), *refusals.values(), *opening.values())
            for r in rows
        }
    )
    last_day = next_month(month) - dt.timedelta(days=1)
    closing_rates = {
        r["currency"]: r
        for r in query_rows(client, CLOSING_RATES_SQL, {"currencies": currencies, "last_day": last_day})
    }
    out: dict[int, CounterpartyStatement | ReportDataError] = {}
    for cid, party in parties.items():
        try:
            out[cid] = _statement(
                party,
                month,
                invoices.get(cid, []),
                payments.get(cid, []),
                refusals.get(cid, []),
                opening.get(cid, []),
                closing_rates,
            )
        except ReportDataError as error:
            out[cid] = error
    return out


def _no_rate(params: Mapping[str, str], what: str, currency: str, day: dt.date) -> ReportDataError:
    return ReportDataError(
        KIND,
        params,
        f"no {currency}/{reporting_currency()} exchange rate on or before {day} for {what}; "
        f"its amount in {reporting_currency()} cannot be stated",
        hint=f"load the central bank's {currency} rates for {day} (pulse extract feeds or the fx_rates table), "
        "run dbt build, and render again",
    )


def _statement(
    party: dict[str, Any],
    month: dt.date,
    invoices: list[dict[str, Any]],
    payments: list[dict[str, Any]],
    refusals: list[dict[str, Any]],
    opening: list[dict[str, Any]],
    closing_rates: dict[str, dict[str, Any]],
) -> CounterpartyStatement:
    params = {"counterparty_id": str(party["counterparty_id"]), "period": f"{month:%Y-%m}"}
    reporting = reporting_currency()
    invoice_lines = []
    for inv in invoices:
        if not inv["has_rate"] or inv["amount_reporting"] is None:
            raise _no_rate(params, f"invoice {inv['number']} of {inv['issued_on']}", inv["currency"], inv["issued_on"])
        converted = (inv["amount"] * inv["rate"]).quantize(CENT, ROUND_HALF_UP)
        if inv["currency"] != reporting and converted != inv["amount_reporting"]:
            raise ReportDataError(
                KIND, params, f"invoice {inv['number']}: mart_receivables has {inv['amount_reporting']} "
                f"{reporting}, its rate gives {converted}",
                hint="the marts are out of step with the FX rates; run dbt build and render again",
            )  # fmt: skip
        invoice_lines.append(
            InvoiceLine(
                number=inv["number"], issued_on=inv["issued_on"], due_on=inv["due_on"], status=inv["status"],
                currency=inv["currency"], amount=inv["amount"], rate=inv["rate"], rate_date=inv["rate_date"],
                amount_reporting=inv["amount_reporting"], counts=inv["status"] != "cancelled",
            )
        )  # fmt: skip
    payment_lines = []
    for pay in payments:
        if not pay["has_rate"] or pay["amount_reporting"] is None:
            what = f"the payment of {pay['paid_on']}" + (
                f" for {pay['invoice_number']}" if pay["invoice_number"] else ""
            )
            raise _no_rate(params, what, pay["currency"], pay["paid_on"])
        payment_lines.append(
            PaymentLine(
                paid_on=pay["paid_on"], invoice_number=pay["invoice_number"], currency=pay["currency"],
                amount=pay["amount"], rate=pay["rate"], rate_date=pay["rate_date"],
                amount_reporting=pay["amount_reporting"],
            )
        )  # fmt: skip
    refusal_lines = []
    for ref in refusals:
        if not ref["has_rate"] or ref["amount_reporting"] is None:
            what = f"the refusal of {ref['refused_on']} on {ref['invoice_number']}"
            raise _no_rate(params, what, ref["currency"], ref["refused_on"])
        refusal_lines.append(
            RefusalLine(
                refused_on=ref["refused_on"], invoice_number=ref["invoice_number"], reason=ref["reason"],
                currency=ref["currency"], amount=ref["amount"], rate=ref["rate"], rate_date=ref["rate_date"],
                amount_reporting=ref["amount_reporting"],
            )
        )  # fmt: skip

    opening_by_currency = {o["currency"]: o["owed"] for o in opening}
    currencies = sorted(
        {party["invoicing_currency"], *opening_by_currency, *(i.currency for i in invoice_lines),
         *(p.currency for p in payment_lines), *(r.currency for r in refusal_lines)},
        key=lambda c: (c != party["invoicing_currency"], c),
    )  # fmt: skip
    last_day = next_month(month) - dt.timedelta(days=1)
    balances = []
    for currency in currencies:
        counted = [i for i in invoice_lines if i.currency == currency and i.counts]
        paid = [p for p in payment_lines if p.currency == currency]
        start = opening_by_currency.get(currency, ZERO)
        invoiced = sum((i.amount for i in counted), ZERO)
        received = sum((p.amount for p in paid), ZERO)
        written_off = [r for r in refusal_lines if r.currency == currency]
        refused = sum((r.amount for r in written_off), ZERO)
        closing = start + invoiced - received - refused
        rate_row = closing_rates.get(currency)
        if rate_row is None and closing != 0:
            raise _no_rate(params, f"the closing balance in {currency}", currency, last_day)
        balances.append(
            CurrencyBalance(
                currency=currency, opening=start, invoiced=invoiced, paid=received, refused=refused, closing=closing,
                invoiced_reporting=sum((i.amount_reporting for i in counted), ZERO),
                paid_reporting=sum((p.amount_reporting for p in paid), ZERO),
                refused_reporting=sum((r.amount_reporting for r in written_off), ZERO),
                closing_rate=rate_row["rate"] if rate_row else None,
                closing_rate_date=rate_row["published_on"] if rate_row else None,
                # Nothing owed is nothing in any currency, with or without a rate.
                closing_reporting=(closing * rate_row["rate"]).quantize(CENT, ROUND_HALF_UP) if rate_row else ZERO,
            )
        )  # fmt: skip
    return CounterpartyStatement(
        counterparty_id=int(party["counterparty_id"]), external_id=party["external_id"], name=party["name"],
        counterparty_kind=party["kind"], country=party["country"], invoicing_currency=party["invoicing_currency"],
        month=month, reporting_currency=reporting, invoices=tuple(invoice_lines), payments=tuple(payment_lines),
        refusals=tuple(refusal_lines), balances=tuple(balances),
    )  # fmt: skip
