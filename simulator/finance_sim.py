"""Money across currencies: daily FX rates to the business currency (the table; for a RUB business also the
central bank's feed), and for a business with clinics monthly invoices to insurers and assistance companies for
insured visits (in their currency, at the day's rate) which they refuse in part now and then, referral invoices
with partner clinics, payments that come in full, in part, late or never, and the partner clinics' own bills to
the company (payables), which it pays."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from decimal import Decimal

from operational_api import models as m
from simulator.calendar import day_start
from simulator.config import SimConfig
from simulator.crm_sim import CrmSim
from simulator.feeds import FeedWriter
from simulator.rng import stream
from simulator.writer import Ids, Timeline

REFUSAL_REASONS = ["not_covered", "no_referral", "missing_documents", "coding_error", "policy_expired", "duplicate",
                   "price_dispute"]  # fmt: skip
REFUSAL_WEIGHTS = [30, 20, 18, 12, 8, 5, 7]
PUBLISHED_AT_HOUR_UTC = 9  # the rate for a day is published that morning


class FinanceSim:
    def __init__(self, cfg: SimConfig, ids: Ids, timeline: Timeline, feeds: FeedWriter, crm: CrmSim | None) -> None:
        self.cfg = cfg
        self.ids = ids
        self.tl = timeline
        self.feeds = feeds
        self.crm = crm
        self.rng = stream(cfg.seed, "finance")
        self.settle_rng = stream(cfg.seed, "settlements")  # refusals and payables: the receivables stay as they were
        self.fx_start = cfg.business.fx_start  # currency: (rate to the business currency at the start, volatility)
        self.currency = cfg.business.business.currency
        self.rates = {cur: start for cur, (start, _) in self.fx_start.items()}
        self.stats: Counter[str] = Counter()
        self.fx_days: list[dt.date] = []

    def run_day(self, day: dt.date) -> None:
        # Business days only; but the window opens with the rates in force, even on a weekend, so that no amount
        # in the history predates every rate (the marts refuse to convert an amount without one).
        if day.weekday() < 5 or not self.fx_days:
            self._publish_rates(day)
        if day.day == 3 and self.crm is not None:
            self._invoice_month(self.crm, day)

    def _publish_rates(self, day: dt.date) -> None:
        at = day_start(day) + dt.timedelta(hours=PUBLISHED_AT_HOUR_UTC)
        self.fx_days.append(day)
        for currency, (_, vol) in self.fx_start.items():
            self.rates[currency] *= math.exp(self.rng.gauss(0, vol))
            rate = Decimal(f"{self.rates[currency]:.4f}")
            self.tl.insert(m.FxRate, {"id": self.ids.next(m.FxRate), "day": day, "base_currency": currency,
                                      "quote_currency": self.currency, "rate": rate, "source": "cbr"}, at)  # fmt: skip
            if self.currency == "RUB":  # the feed is the Russian central bank's: rates to RUB
                self.feeds.add("fx", day, currency, {"date": day.isoformat(), "currency": currency,
                                                     "rate_to_rub": f"{rate:.4f}"})  # fmt: skip
            self.stats["fx_rates"] += 1

    def _to_currency(self, minor: int, currency: str) -> Decimal:
        amount = Decimal(minor).scaleb(-2)
        if currency == self.currency:
            return amount.quantize(Decimal("0.01"))
        return (amount / Decimal(f"{self.rates[currency]:.4f}")).quantize(Decimal("0.01"))

    def _invoice_month(self, crm: CrmSim, day: dt.date) -> None:
        previous = (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        issued = day_start(day) + dt.timedelta(hours=8)
        visits = crm.insured.get((previous.year, previous.month), {})
        for cp_index, cp in enumerate(crm.world.counterparties):
            if cp.kind == "partner_clinic":
                # Referral fees with partner clinics, invoiced in their currency.
                minor = int(self.rng.uniform(50_000, 400_000) * 100 * max(self.cfg.scale, 0.05))
            else:
                minor = visits.get(cp_index, 0)
            if minor <= 0:
                continue
            amount = self._to_currency(minor, cp.currency)
            invoice_id = self.ids.next(m.Invoice)
            self.tl.insert(m.Invoice, {"id": invoice_id, "external_id": f"inv-{invoice_id:06d}",
                                       "number": f"INV-{previous:%Y%m}-{cp_index + 1:03d}", "counterparty_id": cp.id,
                                       "issued_on": day, "due_on": day + dt.timedelta(days=30), "amount": amount,
                                       "currency": cp.currency, "status": "issued"}, issued)  # fmt: skip
            self.stats["invoices"] += 1
            amount -= self._refuse(invoice_id, cp.kind, amount, cp.currency, issued)  # what is left to pay
            fate = self.rng.random()
            if fate < 0.02:
                self.tl.update(m.Invoice, invoice_id, {"status": "cancelled"}, issued + dt.timedelta(days=2))
                continue
            if fate < 0.72:
                self._pay(invoice_id, cp.id, cp.currency, amount, issued + dt.timedelta(days=self.rng.uniform(7, 45)),
                          "paid")  # fmt: skip
            elif fate < 0.88:
                part = (amount * Decimal(str(round(self.rng.uniform(0.4, 0.8), 2)))).quantize(Decimal("0.01"))
                first = issued + dt.timedelta(days=self.rng.uniform(10, 40))
                self._pay(invoice_id, cp.id, cp.currency, part, first, "partially_paid")
                if self.rng.random() < 0.6:
                    self._pay(invoice_id, cp.id, cp.currency, amount - part,
                              first + dt.timedelta(days=self.rng.uniform(10, 60)), "paid")  # fmt: skip
            # else: never paid (overdue)
        for cp_index, cp in enumerate(crm.world.counterparties):
            if cp.kind == "partner_clinic":
                self._payable(cp_index, cp.id, cp.currency, previous, day)

    def _refuse(self, invoice_id: int, kind: str, amount: Decimal, currency: str, issued: dt.datetime) -> Decimal:
        """An insurer refuses part of an invoice now and then (visits its policies do not cover, a missing
        referral...), weeks after it was issued; a partner clinic disputes a referral invoice's price once in a
        while, within days. Returns the amount refused."""
        rng = self.settle_rng
        insurer = kind in ("insurer", "assistance")
        if rng.random() >= (0.35 if insurer else 0.15):
            return Decimal("0.00")
        refused = (amount * Decimal(str(round(rng.uniform(0.02, 0.15), 3)))).quantize(Decimal("0.01"))
        reason = rng.choices(REFUSAL_REASONS, weights=REFUSAL_WEIGHTS)[0] if insurer else "price_dispute"
        at = issued + dt.timedelta(days=rng.uniform(12, 40) if insurer else rng.uniform(1, 10))
        refusal_id = self.ids.next(m.InvoiceRefusal)
        self.tl.insert(m.InvoiceRefusal, {"id": refusal_id, "external_id": f"ref-{refusal_id:06d}",
                                          "invoice_id": invoice_id, "refused_on": at.date(), "amount": refused,
                                          "currency": currency, "reason": reason, "comment": None}, at)  # fmt: skip
        if at < self.cfg.stop:
            self.stats["refusals"] += 1
        return refused

    def _payable(self, cp_index: int, cp_id: int, currency: str, month: dt.date, day: dt.date) -> None:
        """A partner clinic bills the company for the patients it referred there last month (scans, lab work);
        the company pays most bills within the terms, some late, a few not yet."""
        rng = self.settle_rng
        amount = self._to_currency(int(rng.uniform(20_000, 250_000) * 100 * max(self.cfg.scale, 0.05)), currency)
        received = day_start(day) + dt.timedelta(days=rng.uniform(2, 6), hours=9)
        invoice_id = self.ids.next(m.Invoice)
        self.tl.insert(m.Invoice, {"id": invoice_id, "external_id": f"bill-{invoice_id:06d}",
                                   "number": f"PC{cp_index + 1:02d}-{month:%Y%m}", "counterparty_id": cp_id,
                                   "issued_on": received.date(), "due_on": received.date() + dt.timedelta(days=21),
                                   "amount": amount, "currency": currency, "status": "issued",
                                   "direction": "payable"}, received)  # fmt: skip
        self.stats["payables"] += 1
        if rng.random() < 0.9:
            self._pay(invoice_id, cp_id, currency, amount, received + dt.timedelta(days=rng.lognormvariate(2.6, 0.5)),
                      "paid")  # fmt: skip

    def _pay(self, invoice_id: int, cp_id: int, currency: str, amount: Decimal, at: dt.datetime, status: str) -> None:
        payment_id = self.ids.next(m.Payment)
        self.tl.insert(m.Payment, {"id": payment_id, "external_id": f"pay-{payment_id:06d}", "invoice_id": invoice_id,
                                   "counterparty_id": cp_id, "paid_on": at.date(), "amount": amount,
                                   "currency": currency}, at)  # fmt: skip
        self.tl.update(m.Invoice, invoice_id, {"status": status}, at)
        if at < self.cfg.stop:
            self.stats["payments"] += 1
