"""The operational alert rules' conditions, read from the store: which subjects hold right now.

Each condition is a query over live rows (no warehouse: a locked doctor at a machine cannot wait for the hourly
build) and returns one Finding per subject, with the values a notice shows. `evaluate_operational` runs every
enabled operational rule and hands its findings to alerting.observe; the alerts service calls it every
PULSE_ALERTS_INTERVAL_SECONDS.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from operational_api.db import Store
from operational_api.models import (
    OPERATIONAL_RULE_KINDS,
    AccountEntry,
    AlertRule,
    Customer,
    Hospital,
    Machine,
    MachineStock,
    Product,
    TopupFailure,
    VendAuthorisation,
)
from operational_api.schemas.alerts import (
    PARAMS,
    BadCredentialsParams,
    FailedTopUpParams,
    LowStockParams,
    MachineOfflineParams,
    PinLockoutParams,
)
from operational_api.services.alerting import Finding, Observed, observe, retire

log = logging.getLogger(__name__)
Condition = Callable[[Session, Any, dt.datetime], list[Finding]]


def _where(session: Session, machine_ids: set[int]) -> dict[int, tuple[str, int, str, str]]:
    """machine id -> (serial, hospital id, hospital name, hospital time zone)."""
    if not machine_ids:
        return {}
    rows = session.execute(
        select(Machine.id, Machine.serial, Hospital.id, Hospital.name, Hospital.time_zone)
        .join(Hospital, Hospital.id == Machine.hospital_id)
        .where(Machine.id.in_(machine_ids))
    ).all()
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}


def _at(machine: tuple[str, int, str, str] | None) -> str:
    return f"machine {machine[0]} ({machine[2]})" if machine else "an unknown machine"


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def pin_lockout(session: Session, params: PinLockoutParams, now: dt.datetime) -> list[Finding]:
    locked = session.execute(
        select(Customer.id, Customer.client_id, Customer.failed_pin_count, Customer.pin_locked_at).where(
            Customer.pin_locked_at.is_not(None), Customer.deleted_at.is_(None)
        )
    ).all()
    last_machine = {
        c.id: session.scalar(
            select(VendAuthorisation.machine_id)
            .where(VendAuthorisation.customer_id == c.id, VendAuthorisation.reason == "bad_pin")
            .order_by(VendAuthorisation.id.desc())
            .limit(1)
        )
        for c in locked
    }
    machines = _where(session, {m for m in last_machine.values() if m is not None})
    findings = []
    for c in locked:
        machine_id = last_machine[c.id]
        where = machines.get(machine_id) if machine_id is not None else None
        findings.append(Finding(
            subject=f"customer:{c.id}",
            message=f"Customer {c.client_id} was locked out after {c.failed_pin_count} wrong PINs in a row at "
                    f"{_at(where)}, {_stamp(c.pin_locked_at)}.",
            values={"client_id": c.client_id, "failed_pins": c.failed_pin_count,
                    "locked_at": c.pin_locked_at.isoformat(), "machine_serial": where[0] if where else None,
                    "hospital": where[2] if where else None},
            customer_id=c.id, machine_id=machine_id, hospital_id=where[1] if where else None,
        ))  # fmt: skip
    return findings


def bad_credentials(session: Session, params: BadCredentialsParams, now: dt.datetime) -> list[Finding]:
    since = now - dt.timedelta(minutes=params.window_minutes)
    auth = VendAuthorisation
    rows = session.execute(
        select(
            auth.machine_id,
            func.count(),
            func.sum(case((auth.reason == "unknown_customer", 1), else_=0)),
            func.sum(case((auth.reason == "bad_pin", 1), else_=0)),
            func.count(func.distinct(auth.customer_id)),
        )
        .where(
            auth.requested_at >= since, auth.reason.in_(("unknown_customer", "bad_pin")), auth.machine_id.is_not(None)
        )
        .group_by(auth.machine_id)
        .having(func.count() >= params.threshold)
    ).all()
    counts = [cast(tuple[int, int, int, int, int], tuple(row)) for row in rows]
    machines = _where(session, {c[0] for c in counts})
    findings = []
    for machine_id, total, unknown, bad_pins, accounts in counts:
        where = machines.get(machine_id)
        findings.append(Finding(
            subject=f"machine:{machine_id}",
            message=f"{total} failed sign-ins at {_at(where)} in the last {params.window_minutes} minutes: "
                    f"{unknown} unknown client IDs and {bad_pins} wrong PINs on {accounts} accounts. Someone may be "
                    "guessing.",
            values={"attempts": int(total), "unknown_client_ids": int(unknown), "wrong_pins": int(bad_pins),
                    "accounts": int(accounts), "window_minutes": params.window_minutes,
                    "machine_serial": where[0] if where else None, "hospital": where[2] if where else None},
            machine_id=machine_id, hospital_id=where[1] if where else None,
        ))  # fmt: skip
    return findings


def _clock(text: str) -> dt.timedelta:
    hours, minutes = text.split(":")
    return dt.timedelta(hours=int(hours), minutes=int(minutes))


def silent_open_time(since: dt.datetime, now: dt.datetime, open_hours: str | None, zone: str) -> dt.timedelta:
    """How much of [since, now) fell within the daily open hours (hospital local time); all of it without them."""
    if open_hours is None or since >= now:
        return max(now - since, dt.timedelta(0))
    start_text, end_text = open_hours.split("-")
    opens, closes = _clock(start_text), _clock(end_text)
    if closes <= opens:  # open overnight, e.g. 20:00-08:00
        closes += dt.timedelta(days=1)
    tz = zoneinfo.ZoneInfo(zone)
    since = max(since, now - dt.timedelta(days=62))  # a machine silent for months: the total stays far past any line
    day = since.astimezone(tz).date() - dt.timedelta(days=1)
    total = dt.timedelta(0)
    while day <= now.astimezone(tz).date():
        midnight = dt.datetime.combine(day, dt.time(), tz)
        # Wall-clock hours in the zone, compared in UTC: Python subtracts two times of one zone on the wall clock,
        # which counts a daylight-saving night an hour wrong.
        window_start = (midnight + opens).astimezone(dt.UTC)
        window_end = (midnight + closes).astimezone(dt.UTC)
        overlap = min(window_end, now) - max(window_start, since)
        total += max(overlap, dt.timedelta(0))
        day += dt.timedelta(days=1)
    return total


def machine_offline(session: Session, params: MachineOfflineParams, now: dt.datetime) -> list[Finding]:
    # Machines that never talked to the API (not yet installed) are not silent: there is nothing to miss.
    rows = session.execute(
        select(Machine.id, Machine.serial, Machine.last_seen_at, Hospital.id, Hospital.name, Hospital.time_zone)
        .join(Hospital, Hospital.id == Machine.hospital_id)
        .where(Machine.status == "active", Machine.deleted_at.is_(None), Machine.last_seen_at.is_not(None))
        .where(Machine.last_seen_at < now - dt.timedelta(hours=params.silent_hours))
    ).all()
    findings = []
    line = dt.timedelta(hours=params.silent_hours)
    for machine_id, serial, last_seen, hospital_id, hospital, zone in rows:
        assert last_seen is not None  # the query's
        silent = silent_open_time(last_seen, now, params.open_hours, zone)
        if silent < line:
            continue
        hours = silent.total_seconds() / 3600
        within = f" within open hours {params.open_hours}" if params.open_hours else ""
        findings.append(Finding(
            subject=f"machine:{machine_id}",
            message=f"Machine {serial} ({hospital}) has been silent for {hours:.1f} hours{within}: last request "
                    f"{_stamp(last_seen)}.",
            values={"machine_serial": serial, "hospital": hospital, "last_seen_at": last_seen.isoformat(),
                    "silent_hours": round(hours, 2)},
            machine_id=machine_id, hospital_id=hospital_id,
        ))  # fmt: skip
    return findings


def low_stock(session: Session, params: LowStockParams, now: dt.datetime) -> list[Finding]:
    rows = session.execute(
        select(MachineStock.machine_id, MachineStock.product_id, MachineStock.quantity, Product.sku, Product.name)
        .join(Machine, Machine.id == MachineStock.machine_id)
        .join(Product, Product.id == MachineStock.product_id)
        .where(MachineStock.quantity <= params.threshold, MachineStock.deleted_at.is_(None))
        .where(Machine.status == "active", Machine.deleted_at.is_(None), Product.active.is_(True))
    ).all()
    machines = _where(session, {r[0] for r in rows})
    findings = []
    for machine_id, product_id, quantity, sku, name in rows:
        where = machines.get(machine_id)
        findings.append(Finding(
            subject=f"machine:{machine_id}/product:{product_id}",
            message=f"{quantity} left of {name} ({sku}) in {_at(where)}.",
            values={"units": quantity, "sku": sku, "product": name, "threshold": params.threshold,
                    "machine_serial": where[0] if where else None, "hospital": where[2] if where else None},
            machine_id=machine_id, hospital_id=where[1] if where else None,
        ))  # fmt: skip
    return findings


def failed_top_up(session: Session, params: FailedTopUpParams, now: dt.datetime) -> list[Finding]:
    since = now - dt.timedelta(minutes=params.window_minutes)
    later_topup = (
        select(AccountEntry.id)
        .where(AccountEntry.customer_id == TopupFailure.customer_id, AccountEntry.kind == "topup")
        .where(AccountEntry.occurred_at > TopupFailure.occurred_at, AccountEntry.deleted_at.is_(None))
        .exists()
    )
    rows = session.execute(
        select(TopupFailure, Customer.client_id, Customer.home_hospital_id)
        .join(Customer, Customer.id == TopupFailure.customer_id)
        .where(TopupFailure.occurred_at >= since, TopupFailure.deleted_at.is_(None), ~later_topup)
        .order_by(TopupFailure.occurred_at)
    ).all()
    latest: dict[int, tuple[TopupFailure, str, int | None, int]] = {}
    for failure, client_id, hospital_id in rows:
        count = latest[failure.customer_id][3] + 1 if failure.customer_id in latest else 1
        latest[failure.customer_id] = (failure, client_id, hospital_id, count)
    findings = []
    for customer_id, (failure, client_id, hospital_id, count) in latest.items():
        findings.append(Finding(
            subject=f"customer:{customer_id}",
            message=f"A top-up of {failure.amount} {failure.currency} for customer {client_id} failed "
                    f"({failure.reason}, {failure.source.replace('_', ' ')}), {_stamp(failure.occurred_at)}"
                    + (f"; {count} failures in the last {params.window_minutes} minutes." if count > 1 else "."),
            values={"client_id": client_id, "amount": str(failure.amount), "currency": failure.currency,
                    "reason": failure.reason, "source": failure.source, "failures": count,
                    "failed_at": failure.occurred_at.isoformat()},
            customer_id=customer_id, hospital_id=hospital_id,
        ))  # fmt: skip
    return findings


CONDITIONS: dict[str, Condition] = {
    "pin_lockout": pin_lockout,
    "bad_credentials": bad_credentials,
    "machine_offline": machine_offline,
    "low_stock": low_stock,
    "failed_top_up": failed_top_up,
}
assert set(CONDITIONS) == set(OPERATIONAL_RULE_KINDS), "every operational rule kind has its condition"


def evaluate_rule(store: Store, rule: AlertRule, findings: list[Finding], now: dt.datetime) -> Observed:
    """Record one rule's findings (its own write transaction: one rule's trouble does not hold up the others)."""
    with store.write() as session:
        current = session.get(AlertRule, rule.id)
        if current is None or not current.enabled or current.deleted_at is not None:
            return Observed()  # changed while it was evaluated
        return observe(session, current, findings, now)


def evaluate_operational(store: Store, now: dt.datetime) -> Observed:
    """Every enabled operational rule, once."""
    total = Observed()
    with store.read() as session:
        rules = session.scalars(
            select(AlertRule)
            .where(AlertRule.enabled.is_(True), AlertRule.deleted_at.is_(None))
            .where(AlertRule.kind.in_(OPERATIONAL_RULE_KINDS))
            .order_by(AlertRule.id)
        ).all()
        found: list[tuple[AlertRule, list[Finding]]] = []
        for rule in rules:
            try:
                params = PARAMS[rule.kind].model_validate(rule.params)
                found.append((rule, CONDITIONS[rule.kind](session, params, now)))
            except Exception:  # one broken rule must not silence the others
                total.failed += 1
                log.exception("alert rule %d (%s) could not be evaluated", rule.id, rule.name)
        session.expunge_all()
    for rule, findings in found:
        try:
            total += evaluate_rule(store, rule, findings, now)
        except Exception:  # recorded by nothing (rolled back): the next round tries again, the other rules go on
            total.failed += 1
            log.exception("alert rule %d (%s): its findings could not be recorded", rule.id, rule.name)
    with store.write() as session:
        total.resolved += retire(session, now)
    return total
