"""Day-by-day simulation of the vending business: staff taking kits before their shifts, PIN typos and
lockouts, declines, top-ups (web portal, phone operator charging the stored card, hospital payroll),
machines going offline and uploading their buffered vends late and out of order, machines breaking down
(silent for days), refills (some missed, one kit short from the supplier at the end), stock-outs, refunds.

Each customer's balance is followed in simulated time, so no vend is ever approved (online) or dispensed
(offline, against the machine's cached balance) without the funds: the ledger never goes negative.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from operational_api import models as m
from operational_api.security import MAX_BAD_PINS
from simulator.calendar import SHIFT_START_HOUR, day_start, local_to_utc, season_factor, weekday_factor
from simulator.config import SimConfig
from simulator.rng import np_stream, stream
from simulator.vending_world import KIT_TYPES, Customer, VendingWorld, in_account, money
from simulator.writer import Ids, Timeline

S = dt.timedelta(seconds=1)
# Amounts in kopecks of the Russian business; every business scales them by its profile's price_scale (`_minor`).
LOW_BALANCE_KOPECKS = 80_000
OPENING_BALANCES = [0, 50_000, 120_000, 250_000, 400_000]
WEB_AMOUNTS = [100_000, 150_000, 200_000, 300_000, 500_000]
PHONE_AMOUNTS = [200_000, 300_000, 500_000]
PAYROLL_AMOUNTS = [300_000, 400_000, 600_000]
TYPO_RATE = 0.02
WRONG_CLIENT_ID_RATE = 0.003
JAM_RATE = 0.004
REFUND_RATE = 0.0015
# A card top-up (web portal, or an operator charging the stored card) is declined now and then: nothing is credited,
# the failure is recorded (topup_failures), and most people try again a few minutes later. Payroll never fails.
FAILED_TOPUP_RATE = 0.03
FAILED_TOPUP_RETRY = 0.7
TOPUP_FAILURE_REASONS = ["card declined", "card declined", "insufficient funds on the card", "card expired",
                         "3-D Secure check failed", "processor timeout"]  # fmt: skip
# The service desk acknowledges alerts about broken-down machines (and some long outages) in the portal, then the
# condition clearing (the machine back, the customer unlocked) resolves them, as the alert rules would.
ACK_OUTAGE_SHARE = 0.4
# A machine breaks down (no power, a dead board): for a day or a few it neither sells nor reports anything, so its
# days are silent. The last machine breaks down shortly before the end of the window and is still down at the end,
# so every scale has a machine silent now.
BREAKDOWN_RATE = 0.004  # per machine and day
BREAKDOWN_DAYS = (1.2, 3.5)
FINAL_BREAKDOWN_DAYS_BEFORE_END = 3
# The service engineer misses a machine's visit now and then (sick day, ward closed): its stock runs low or out.
MISSED_REFILL_RATE = 0.07
# The supplier runs short of one kit for the last days of the window: refills bring none of it, so machines run out of
# it one after the other and some are still out at the end (stock-outs and their declines at every scale). Not a
# gown: tests authorise a GOWN-M at the end of the window.
SHORT_KIT = ("surgical", "M")
SHORTAGE_DAYS = 10


@dataclass
class CustomerState:
    balance: int = 0  # minor units of the account's currency
    locked: bool = False
    status: str = "active"
    blocked_attempts: int = 0
    topup_pending: bool = False


@dataclass
class MachineState:
    online_at: dt.datetime  # offline until this moment (in the past when online)
    down_from: dt.datetime | None = None  # broken down (silent) in [down_from, down_until)
    down_until: dt.datetime | None = None
    counter: int = 0
    buffer: list[dict[str, Any]] = field(default_factory=list)
    last_seen: dt.datetime | None = None


class VendingSim:
    def __init__(self, cfg: SimConfig, world: VendingWorld, ids: Ids, timeline: Timeline, phone_operators: list[int]):
        self.cfg = cfg
        self.world = world
        self.ids = ids
        self.tl = timeline
        self.phone_operators = phone_operators
        self.rng = stream(cfg.seed, "vending")
        # Breakdowns and the engineer's visits draw from their own stream, so the rest keeps its numbers.
        self.service_rng = stream(cfg.seed, "vending-service")
        self.payment_rng = stream(cfg.seed, "vending-payments")  # failed card top-ups
        self.desk_rng = stream(cfg.seed, "vending-desk")  # the service desk acknowledging alerts
        self.desk = f"portal:service@{cfg.business.email_domain}"
        self.np_rng = np_stream(cfg.seed, "vending-counts")
        self.customers = [CustomerState() for _ in world.customers]
        self.machines = [MachineState(online_at=cfg.start) for _ in world.machines]
        self.stock = dict(world.capacity)
        self.events: list[tuple[dt.datetime, int, str, Any]] = []
        self._seq = 0
        self._entry = 0
        self.stats: Counter[str] = Counter()
        self.rates = np.array([c.rate for c in world.customers])
        self.roles = np.array([c.role for c in world.customers])
        self.registered = np.array([c.registered_at for c in world.customers])
        self.kit_types = list(KIT_TYPES)
        self.kit_shares = [share for _, _, share in KIT_TYPES.values()]
        self.products_by_size: dict[str, dict[str, int]] = {}
        for p_index, product in enumerate(world.products):
            self.products_by_size.setdefault(product.size, {})[product.kit_type] = p_index
        self.short_product = self.products_by_size.get(SHORT_KIT[1], {}).get(SHORT_KIT[0])
        self.shortage_from = cfg.stop - dt.timedelta(days=SHORTAGE_DAYS)
        self.dropping = self._dropping_customers()
        self._schedule_registrations()

    def _dropping_customers(self) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Which customers belong to the hospital of the configured sales drop (none without one)."""
        drop = self.cfg.sales_drop
        if drop is None:
            return np.zeros(len(self.world.customers), dtype=bool)
        codes = [hospital.code for hospital in self.world.hospitals]
        if drop.hospital not in codes:
            raise ValueError(
                f"sales drop: no hospital {drop.hospital} at this scale (there are {codes[0]}..{codes[-1]})"
            )
        h_index = codes.index(drop.hospital)
        return np.array([customer.hospital == h_index for customer in self.world.customers], dtype=bool)

    def _minor(self, index: int, kopecks: int) -> int:
        """A round amount of the Russian business (top-ups, thresholds) for this customer's account: scaled to the
        business currency, then to the account's, in whole units."""
        business = max(100, round(kopecks * self.cfg.business.price_scale / 100) * 100)
        return in_account(business, self.world.customers[index].unit, step=100)

    # --- scheduling ----------------------------------------------------------------------------------

    def _push(self, at: dt.datetime, kind: str, payload: Any) -> None:
        if at < self.cfg.stop:
            self._seq += 1
            heapq.heappush(self.events, (at, self._seq, kind, payload))

    def _schedule_registrations(self) -> None:
        """Customers registered before the window carry an opening balance; later ones top up on day one."""
        opening_at = self.cfg.start - dt.timedelta(hours=1)
        for index, customer in enumerate(self.world.customers):
            if customer.registered_at < self.cfg.start:
                drawn = self.rng.choice(OPENING_BALANCES)
                amount = self._minor(index, drawn) if drawn else 0
                self.customers[index].balance = amount
                if amount:
                    self._entry_row(index, "adjustment", "admin", amount, opening_at, f"ob-{customer.client_id}",
                                    note="opening balance carried over")  # fmt: skip
            else:
                self._push(customer.registered_at + dt.timedelta(minutes=self.rng.uniform(5, 90)), "topup",
                           (index, "web_portal"))  # fmt: skip
        for h_index, hospital in enumerate(self.world.hospitals):
            if hospital.payroll:
                day = self.cfg.first_day
                while day <= self.cfg.last_day:
                    if day.day == 5:
                        self._push(local_to_utc(day, 9.0, hospital.zone), "payroll", h_index)
                    day += dt.timedelta(days=1)
        for m_index, machine in enumerate(self.world.machines):
            zone = self.world.hospitals[machine.hospital].zone
            day = self.cfg.first_day
            while day <= self.cfg.last_day:
                if day.weekday() in (0, 3):  # the service engineer refills on Mondays and Thursdays
                    self._push(local_to_utc(day, 10.5, zone), "refill", m_index)
                day += dt.timedelta(days=1)
        if self.world.machines:
            last = len(self.world.machines) - 1
            begin = self.cfg.stop - dt.timedelta(days=FINAL_BREAKDOWN_DAYS_BEFORE_END)
            if self.world.hospitals[self.world.machines[last].hospital].onboarded_at < begin:
                self._push(begin, "breakdown", (last, FINAL_BREAKDOWN_DAYS_BEFORE_END + 7.0))

    # --- ledger rows ---------------------------------------------------------------------------------

    def _entry_row(
        self, index: int, kind: str, source: str, minor: int, at: dt.datetime, entry_id: str | None, **extra: Any
    ) -> None:
        customer = self.world.customers[index]
        row = {"id": self.ids.next(m.AccountEntry), "entry_id": entry_id, "customer_id": customer.id, "kind": kind,
               "source": source, "amount": money(minor), "currency": customer.currency, "occurred_at": at,
               "vend_transaction_id": None, "hospital_id": None, "operator_id": None, "processor_ref": None,
               "note": None, **extra}  # fmt: skip
        self.tl.insert(m.AccountEntry, row, at)

    def _topup(self, index: int, source: str, at: dt.datetime, minor: int | None = None) -> None:
        state = self.customers[index]
        customer = self.world.customers[index]
        state.topup_pending = False
        if state.status != "active" or at < customer.registered_at:
            return
        if source == "phone_operator" and not customer.has_card:
            source = "web_portal"
        self._entry += 1
        extra: dict[str, Any] = {}
        if source == "web_portal":
            minor = minor or self._minor(index, self.rng.choice(WEB_AMOUNTS))
            extra["processor_ref"] = f"ch_{self.cfg.seed}_{self._entry:09d}"
        elif source == "phone_operator":
            minor = minor or self._minor(index, self.rng.choice(PHONE_AMOUNTS))
            extra["processor_ref"] = f"ch_{self.cfg.seed}_{self._entry:09d}"
            extra["operator_id"] = self.rng.choice(self.phone_operators)
        else:
            assert minor is not None
            extra["hospital_id"] = self.world.hospitals[customer.hospital].id
        if source != "payroll" and self.payment_rng.random() < FAILED_TOPUP_RATE:
            self._topup_failed(index, source, at, minor, extra["processor_ref"])
            return
        state.balance += minor
        self.stats[f"topup_{source}"] += 1
        self._entry_row(index, "topup", source, minor, at, f"tu-{self._entry:09d}", **extra)

    def _topup_failed(self, index: int, source: str, at: dt.datetime, minor: int, processor_ref: str) -> None:
        """The card charge is declined: nothing is credited, the failure is recorded, and most try again soon."""
        customer = self.world.customers[index]
        self.tl.insert(m.TopupFailure, {"id": self.ids.next(m.TopupFailure), "attempt_id": f"tf-{self._entry:09d}",
                                        "customer_id": customer.id, "source": source, "amount": money(minor),
                                        "currency": customer.currency,
                                        "reason": self.payment_rng.choice(TOPUP_FAILURE_REASONS),
                                        "processor_ref": processor_ref, "occurred_at": at}, at)  # fmt: skip
        self.stats[f"failed_topup_{source}"] += 1
        if self.payment_rng.random() < FAILED_TOPUP_RETRY:
            self.customers[index].topup_pending = True
            self._push(at + dt.timedelta(minutes=self.payment_rng.uniform(1, 15)), "topup", (index, source))

    def _maybe_schedule_topup(self, index: int, at: dt.datetime, soon: bool) -> None:
        state = self.customers[index]
        if state.topup_pending or state.balance >= self._minor(index, LOW_BALANCE_KOPECKS):
            return
        if not soon and self.rng.random() < 0.35:
            return  # will notice later (at the machine)
        state.topup_pending = True
        source = "phone_operator" if self.rng.random() < 0.3 else "web_portal"
        delay = dt.timedelta(minutes=self.rng.uniform(2, 12)) if soon else dt.timedelta(hours=self.rng.uniform(1, 40))
        self._push(at + delay, "topup", (index, source))

    # --- one day -------------------------------------------------------------------------------------

    def run_day(self, day: dt.date) -> None:
        start = day_start(day)
        self._machine_outages(day, start)
        self._vend_attempts(day, start)
        self._close_some_accounts(day, start)
        end = start + dt.timedelta(days=1)
        while self.events and self.events[0][0] < end:
            at, _, kind, payload = heapq.heappop(self.events)
            getattr(self, f"_on_{kind}")(at, payload)

    def _machine_outages(self, day: dt.date, start: dt.datetime) -> None:
        for m_index, machine in enumerate(self.world.machines):
            state = self.machines[m_index]
            breaks = self.service_rng.random() < BREAKDOWN_RATE
            if state.online_at > start or self.world.hospitals[machine.hospital].onboarded_at > start:
                continue
            if breaks:
                self._break_down(start + dt.timedelta(hours=self.service_rng.uniform(0, 24)), m_index,
                                 self.service_rng.uniform(*BREAKDOWN_DAYS))  # fmt: skip
                continue
            if self.rng.random() < (0.06 if machine.flaky else 0.003):
                begin = start + dt.timedelta(hours=self.rng.uniform(0, 24))
                hours = min(60.0, self.rng.lognormvariate(1.6, 0.9))
                back = begin + dt.timedelta(hours=hours)
                state.online_at = back
                self.stats["outages"] += 1
                if hours >= 6:
                    self._machine_offline_alert(m_index, begin, back, acknowledge=ACK_OUTAGE_SHARE)
                self._push(back + dt.timedelta(minutes=self.rng.uniform(1, 8)), "upload", m_index)

    def _vend_attempts(self, day: dt.date, start: dt.datetime) -> None:
        weekend = day.weekday() >= 5
        profile = self.cfg.business
        role_factor = np.where(
            self.roles == "nurse", weekday_factor(day, "nurse", profile), weekday_factor(day, "doctor", profile)
        )
        lam = self.rates * role_factor * season_factor(day) * (self.registered <= start + dt.timedelta(days=1))
        if self.cfg.sales_drop is not None:
            # Fewer attempts, not fewer draws: every customer still gets one Poisson draw a day as without the drop.
            lam = np.where(self.dropping, lam * self.cfg.sales_drop.factor(day, self.cfg.last_day), lam)
        counts = self.np_rng.poisson(lam)
        for index in np.flatnonzero(counts):
            customer = self.world.customers[int(index)]
            for n in range(int(counts[index])):
                shift = customer.shift if n == 0 else self.rng.choice(["morning", "evening", "night"])
                zone = self.world.hospitals[customer.hospital].zone
                # Kits are taken in the 45 minutes before the shift, a few later (mid-shift changes).
                minutes_before = self.rng.gauss(22, 14) if self.rng.random() < 0.85 else -self.rng.uniform(30, 300)
                hour = SHIFT_START_HOUR[shift] - minutes_before / 60 + (0.0 if not weekend else 0.5)
                at = local_to_utc(day, hour, zone) + dt.timedelta(seconds=self.rng.randrange(60))
                if day_start(day) <= at < day_start(day) + dt.timedelta(days=1):
                    self._push(at, "vend", int(index))

    def _break_down(self, begin: dt.datetime, m_index: int, days: float) -> None:
        """The machine goes dead at `begin` for `days`: no vends, no authorisations, no uploads until it is back
        (its customers walk to another machine of the hospital, if there is one). The API notices after 6 hours."""
        state = self.machines[m_index]
        back = begin + dt.timedelta(days=days)
        state.down_from, state.down_until = begin, back
        state.online_at = max(state.online_at, back)
        self.stats["breakdowns"] += 1
        self._machine_offline_alert(m_index, begin, back, acknowledge=1.0)
        self._push(back + dt.timedelta(minutes=self.service_rng.uniform(1, 8)), "upload", m_index)

    def _alert(self, kind: str, at: dt.datetime, subject: str, m_index: int, *, message: str, details: dict[str, Any],
               customer_id: int | None = None) -> int:  # fmt: skip
        """An open alert in the log, raised without a rule (so no notices were sent), about a machine, its hospital
        and maybe a customer; the subject is what a rule would name (customer:<id>, machine:<id>)."""
        machine = self.world.machines[m_index]
        alert_id = self.ids.next(m.Alert)
        self.tl.insert(m.Alert, {"id": alert_id, "kind": kind, "severity": "warning", "status": "open",
                                 "customer_id": customer_id, "machine_id": machine.id,
                                 "hospital_id": self.world.hospitals[machine.hospital].id, "message": message,
                                 "details": details, "raised_at": at, "rule_id": None, "subject": subject,
                                 "occurrences": 1, "last_seen_at": at, "notified_at": None, "acknowledged_at": None,
                                 "acknowledged_by": None, "resolved_at": None}, at)  # fmt: skip
        return alert_id

    def _machine_offline_alert(self, m_index: int, begin: dt.datetime, back: dt.datetime, acknowledge: float) -> None:
        """Silent since `begin`: raised 6 hours later, maybe acknowledged by the service desk (a share `acknowledge`
        of them), resolved 10 minutes after the machine is `back`."""
        machine = self.world.machines[m_index]
        raised = begin + dt.timedelta(hours=6)
        resolved = back + dt.timedelta(minutes=10)
        alert_id = self._alert("machine_offline", raised, f"machine:{machine.id}", m_index,
                               message=f"Machine {machine.serial} has not reported for 6 hours.",
                               details={"since": begin.isoformat()})  # fmt: skip
        acknowledged = raised + dt.timedelta(minutes=self.desk_rng.uniform(5, 150))
        if self.desk_rng.random() < acknowledge and acknowledged < resolved:
            self.tl.update(m.Alert, alert_id, {"status": "acknowledged", "acknowledged_at": acknowledged,
                                               "acknowledged_by": self.desk}, acknowledged)  # fmt: skip
        self.tl.update(m.Alert, alert_id, {"status": "resolved", "resolved_at": resolved, "last_seen_at": back},
                       resolved)  # fmt: skip

    def _is_down(self, m_index: int, at: dt.datetime) -> bool:
        state = self.machines[m_index]
        return state.down_from is not None and state.down_until is not None and state.down_from <= at < state.down_until

    def _close_some_accounts(self, day: dt.date, start: dt.datetime) -> None:
        """A few people leave their hospital (account closed, balance paid out) or are blocked."""
        for _ in range(self.np_rng.poisson(len(self.customers) * 0.00012)):
            index = self.rng.randrange(len(self.customers))
            state = self.customers[index]
            customer = self.world.customers[index]
            if state.status != "active" or customer.registered_at > start:
                continue
            at = start + dt.timedelta(hours=self.rng.uniform(7, 18))
            if self.rng.random() < 0.7:
                self._push(at, "close", index)
            else:
                state.status = "blocked"
                state.blocked_attempts = 3
                self.tl.update(m.Customer, customer.id, {"status": "blocked"}, at)
                self.stats["blocked"] += 1

    # --- events --------------------------------------------------------------------------------------

    def _on_close(self, at: dt.datetime, index: int) -> None:
        state = self.customers[index]
        customer = self.world.customers[index]
        if state.status != "active":
            return
        state.status = "closed"
        if state.balance > 0:
            self._entry_row(index, "adjustment", "admin", -state.balance, at, f"close-{customer.client_id}",
                            note="account closed: balance paid out")  # fmt: skip
            state.balance = 0
        self.tl.update(m.Customer, customer.id, {"status": "closed"}, at)
        self.stats["closed"] += 1

    def _on_topup(self, at: dt.datetime, payload: tuple[int, str]) -> None:
        self._topup(payload[0], payload[1], at)

    def _on_payroll(self, at: dt.datetime, h_index: int) -> None:
        for index, customer in enumerate(self.world.customers):
            if customer.hospital == h_index and customer.payroll and customer.registered_at < at:
                amount = self._minor(index, PAYROLL_AMOUNTS[int(customer.client_id) % len(PAYROLL_AMOUNTS)])
                self._topup(index, "payroll", at + dt.timedelta(seconds=index % 600), amount)

    def _on_breakdown(self, at: dt.datetime, payload: tuple[int, float]) -> None:
        m_index, days = payload
        state = self.machines[m_index]
        if self._is_down(m_index, at):  # already down: it stays down (its upload waits for the new repair time)
            state.down_until = at + dt.timedelta(days=days)
            state.online_at = max(state.online_at, state.down_until)
            return
        self._break_down(at, m_index, days)

    def _on_refill(self, at: dt.datetime, m_index: int) -> None:
        if self.service_rng.random() < MISSED_REFILL_RATE:
            self.stats["refills_missed"] += 1
            return
        for p_index in range(len(self.world.products)):
            if p_index == self.short_product and at >= self.shortage_from:
                continue  # none to be had from the supplier
            key = (m_index, p_index)
            self.stock[key] = self.world.capacity[key]
        self.stats["refills"] += 1

    def _on_unlock(self, at: dt.datetime, index: int) -> None:
        """The customer called support; an operator cleared the lockout (and the alert)."""
        state = self.customers[index]
        customer = self.world.customers[index]
        state.locked = False
        self.tl.update(m.Customer, customer.id, {"failed_pin_count": 0, "pin_locked_at": None}, at)
        self.stats["unlocks"] += 1

    def _on_refund(self, at: dt.datetime, payload: tuple[int, str, int]) -> None:
        index, vend_id, minor = payload
        self.customers[index].balance += minor
        self._entry_row(index, "refund", "admin", minor, at, f"rf-{vend_id}", vend_transaction_id=vend_id,
                        note="kit was damaged")  # fmt: skip
        self.tl.update(m.VendTransaction, vend_id, {"status": "refunded"}, at)
        self.stats["refunds"] += 1

    def _on_upload(self, at: dt.datetime, m_index: int) -> None:
        """Back online: the buffered vends arrive in one batch, in the machine's own (shuffled) order."""
        state = self.machines[m_index]
        if self._is_down(m_index, at):  # broken down when its upload came due: it uploads once repaired
            assert state.down_until is not None
            self._push(state.down_until + dt.timedelta(minutes=5), "upload", m_index)
            return
        buffered, state.buffer = state.buffer, []
        self.rng.shuffle(buffered)
        for offset, vend in enumerate(buffered):
            received = at + dt.timedelta(milliseconds=40 * offset)
            vend["received_at"] = received
            self._write_vend(vend, received)
        if buffered:
            state.last_seen = at
            self.stats["offline_uploads"] += 1

    def _auth(self, at: dt.datetime, m_index: int, index: int | None, p_index: int, qty: int, reason: str | None,
              price: int | None) -> int:  # fmt: skip
        auth_id = self.ids.next(m.VendAuthorisation)
        self.tl.insert(m.VendAuthorisation, {
            "id": auth_id, "machine_id": self.world.machines[m_index].id,
            "customer_id": None if index is None else self.world.customers[index].id,
            "product_id": self.world.products[p_index].id, "quantity": qty,
            "price": None if price is None else money(price),
            "decision": "approved" if reason is None else "declined",
            "reason": reason, "requested_at": at}, at)  # fmt: skip
        self.stats[f"auth_{reason or 'approved'}"] += 1
        self.machines[m_index].last_seen = at
        return auth_id

    def _on_vend(self, at: dt.datetime, index: int) -> None:
        state = self.customers[index]
        customer = self.world.customers[index]
        if state.status == "closed" or at < customer.registered_at:
            return
        hospital = self.world.hospitals[customer.hospital]
        if hospital.onboarded_at > at:
            return
        m_index = self._pick_machine(customer)
        if self._is_down(m_index, at):  # dead: the customer walks to another machine of the hospital
            working = [other for other in customer.machine_pref if not self._is_down(other, at)]
            if not working:
                self.stats["vends_lost_to_breakdowns"] += 1
                return
            m_index = working[0]
        machine = self.machines[m_index]
        kit = self.rng.choices(self.kit_types, weights=self.kit_shares)[0]
        p_index = self.products_by_size[customer.size][kit]
        qty = 1 if self.rng.random() < 0.93 else self.rng.choice([2, 2, 3])
        price = self.world.products[p_index].price_at(at, customer.unit)
        amount = price * qty
        key = (m_index, p_index)
        if machine.online_at > at:  # offline: the machine decides alone, from its cached data
            if state.status == "active" and not state.locked and state.balance >= amount and self.stock[key] >= qty:
                self._dispense(at, index, m_index, p_index, qty, price, None)
            return
        if self.rng.random() < WRONG_CLIENT_ID_RATE:
            self._auth(at, m_index, None, p_index, qty, "unknown_customer", price)
            at += dt.timedelta(seconds=self.rng.randint(10, 30))
        if state.status == "blocked":
            if state.blocked_attempts > 0:
                state.blocked_attempts -= 1
                self._auth(at, m_index, index, p_index, qty, "blocked", price)
            return
        if state.locked:
            self._auth(at, m_index, index, p_index, qty, "pin_locked", price)
            return
        if self.rng.random() < customer.forgetful:
            self._lock_out(at, index, m_index, p_index, qty, price)
            return
        if self.rng.random() < TYPO_RATE:
            self._auth(at, m_index, index, p_index, qty, "bad_pin", price)
            at += dt.timedelta(seconds=self.rng.randint(8, 25))
        if self.stock[key] < qty:
            self._auth(at, m_index, index, p_index, qty, "out_of_stock", price)
            return
        if state.balance < amount:
            self._auth(at, m_index, index, p_index, qty, "insufficient_funds", price)
            if self.rng.random() < 0.75:  # tops up on the phone right there, and tries again
                source = "phone_operator" if customer.has_card and self.rng.random() < 0.3 else "web_portal"
                topup_at = at + dt.timedelta(minutes=self.rng.uniform(2, 8))
                # Credited when it happens (an event), never earlier: a vend in between must not see it.
                state.topup_pending = True
                self._push(topup_at, "topup", (index, source))
                self._push(topup_at + dt.timedelta(minutes=self.rng.uniform(1, 3)), "vend", index)
            return
        auth_id = self._auth(at, m_index, index, p_index, qty, None, price)
        self._dispense(at, index, m_index, p_index, qty, price, auth_id)

    def _lock_out(self, at: dt.datetime, index: int, m_index: int, p_index: int, qty: int, price: int) -> None:
        """Five bad PINs in a row: the fifth locks the account and raises an alert for the owner."""
        customer = self.world.customers[index]
        for _ in range(MAX_BAD_PINS):
            self._auth(at, m_index, index, p_index, qty, "bad_pin", price)
            at += dt.timedelta(seconds=self.rng.randint(6, 20))
        self.customers[index].locked = True
        self.tl.update(m.Customer, customer.id, {"failed_pin_count": MAX_BAD_PINS, "pin_locked_at": at}, at)
        machine = self.world.machines[m_index]
        alert_id = self._alert("pin_lockout", at, f"customer:{customer.id}", m_index, customer_id=customer.id,
                               message=f"Customer {customer.client_id} locked after {MAX_BAD_PINS} consecutive bad PINs.",
                               details={"failed_pin_count": MAX_BAD_PINS, "machine_serial": machine.serial})  # fmt: skip
        self.stats["lockouts"] += 1
        unlock_at = at + dt.timedelta(hours=self.rng.uniform(0.5, 30))
        self._push(unlock_at, "unlock", index)
        # Support clearing the lock clears the condition: resolved then, as the pin_lockout rule would resolve it.
        self.tl.update(m.Alert, alert_id, {"status": "resolved", "resolved_at": unlock_at, "last_seen_at": unlock_at},
                       unlock_at)  # fmt: skip

    def _pick_machine(self, customer: Customer) -> int:
        prefs = customer.machine_pref
        if len(prefs) == 1 or self.rng.random() < 0.8:
            return prefs[0]
        return self.rng.choice(prefs[1:])

    def _dispense(self, at: dt.datetime, index: int, m_index: int, p_index: int, qty: int, price: int,
                  auth_id: int | None) -> None:  # fmt: skip
        machine = self.world.machines[m_index]
        state = self.machines[m_index]
        state.counter += 1
        device_time = at + dt.timedelta(seconds=self.rng.randint(20, 70))
        jammed = auth_id is not None and self.rng.random() < JAM_RATE
        vend: dict[str, Any] = {"id": f"{machine.serial}-{state.counter:08d}", "machine_id": machine.id,
                "customer_id": self.world.customers[index].id, "product_id": self.world.products[p_index].id,
                "authorisation_id": auth_id, "quantity": qty, "unit_price": money(price), "amount": money(price * qty),
                "currency": self.world.customers[index].currency, "status": "failed" if jammed else "completed",
                "device_time": device_time,
                "offline": auth_id is None}  # fmt: skip
        if not jammed:
            self.customers[index].balance -= price * qty
            self.stock[(m_index, p_index)] -= qty
            self._maybe_schedule_topup(index, device_time, soon=False)
            if auth_id is not None and self.rng.random() < REFUND_RATE:  # offline vends may not be stored yet
                refund_at = device_time + dt.timedelta(hours=self.rng.uniform(20, 72))
                self._push(refund_at, "refund", (index, vend["id"], price * qty))
        if auth_id is None:
            state.buffer.append(vend)
            return
        vend["received_at"] = device_time + dt.timedelta(milliseconds=self.rng.randint(150, 2500))
        self._write_vend(vend, vend["received_at"])
        state.last_seen = vend["received_at"]
        if jammed:  # nothing came out: the customer tries once more
            self._push(device_time + dt.timedelta(seconds=self.rng.randint(20, 60)), "vend", index)

    def _write_vend(self, vend: dict[str, Any], received: dt.datetime) -> None:
        self.tl.insert(m.VendTransaction, vend, received)
        self.stats["vends_offline" if vend["offline"] else "vends_online"] += 1
        if vend["status"] != "completed":
            return
        row = {"id": self.ids.next(m.AccountEntry), "entry_id": None, "customer_id": vend["customer_id"],
               "kind": "vend", "source": "machine", "amount": -vend["amount"], "currency": vend["currency"],
               "occurred_at": vend["device_time"], "vend_transaction_id": vend["id"], "hospital_id": None,
               "operator_id": None, "processor_ref": None, "note": None}  # fmt: skip
        self.tl.insert(m.AccountEntry, row, received)

    # --- end of the window ---------------------------------------------------------------------------

    def finish(self) -> None:
        """Final machine state (last contact, offline status) and stock levels, at the end of the window."""
        at = self.cfg.stop - S
        for m_index, machine in enumerate(self.world.machines):
            state = self.machines[m_index]
            values: dict[str, Any] = {"last_seen_at": state.last_seen}
            if state.online_at > at:
                values["status"] = "offline"
            self.tl.update(m.Machine, machine.id, values, at)
            for p_index in range(len(self.world.products)):
                key = (m_index, p_index)
                self.tl.update(m.MachineStock, self.world.stock_ids[key], {"quantity": self.stock[key]}, at)
