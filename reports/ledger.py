"""The delivery ledger: one row per statement, and the state changes that make sending exactly-once-or-less.

A row's life: planned `pending` (or `skipped` when the recipient unsubscribed) -> claimed `sending` just
before the SMTP transaction -> `sent`, or `failed` (retried at `next_attempt_at`, with the wait doubling
per attempt, until PULSE_REPORTS_MAX_ATTEMPTS; then `next_attempt_at` is NULL: failed for good), or
`in_doubt`.

Never twice: the claim is one conditional UPDATE (`... WHERE state is claimable`) in a write transaction,
so of two runs racing for a row exactly one gets it, and a row that is `sent` or `sending` is never
claimed again. The one unavoidable gap is a crash between handing a message to the server and recording
`sent`: such a row stays `sending`, and once its claim is older than CLAIM_LEASE it is marked `in_doubt`
and reported, never resent automatically. We choose at-most-once over at-least-once because a duplicate
financial statement is worse than a late one; an operator who checked that it did not arrive requeues it
(`pulse reports retry`), and the resend carries the same Message-ID, so it is recognisable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from operational_api.db import Store
from operational_api.models import (
    RecipientPreference,
    ReportDelivery,
    ReportUnsubscribe,
    allocate_change_seq,
    stamp_rows,
    table_of,
    utcnow,
)

CLAIM_LEASE = dt.timedelta(minutes=15)  # far longer than one SMTP transaction; then a claim is in doubt
MAX_ERROR_CHARS = 2000
deliveries = table_of(ReportDelivery)


def params_digest(params: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class PlannedDelivery:
    """One recipient of one period, as the planner resolved it (state: pending, skipped or failed)."""

    email: str
    period: str
    params: dict[str, str]
    locale: str
    name: str | None
    state: str = "pending"
    error: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.email, self.period, params_digest(self.params))


@dataclass(frozen=True)
class Delivery:
    """What a sender needs of a ledger row."""

    id: int
    subscription_id: int
    email: str
    period: str
    params: dict[str, str]
    params_sha256: str
    locale: str
    name: str | None
    attempts: int


def claimable(now: dt.datetime) -> Any:
    """Rows a sender may take: never tried, or failed and due for a retry."""
    return or_(
        deliveries.c.state == "pending",
        and_(deliveries.c.state == "failed", deliveries.c.next_attempt_at <= now),
    )


def _not_unsubscribed() -> Any:
    unsubscribes = table_of(ReportUnsubscribe)
    return ~(
        select(unsubscribes.c.id)
        .where(
            unsubscribes.c.subscription_id == deliveries.c.subscription_id,
            unsubscribes.c.email == deliveries.c.email,
            unsubscribes.c.deleted_at.is_(None),
        )
        .exists()
    )


def unsubscribed_emails(session: Session, subscription_id: int) -> set[str]:
    rows = session.execute(
        select(ReportUnsubscribe.email).where(
            ReportUnsubscribe.subscription_id == subscription_id, ReportUnsubscribe.deleted_at.is_(None)
        )
    )
    return {email for (email,) in rows}


def existing_keys(session: Session, subscription_id: int, periods: Iterable[str]) -> dict[tuple[str, str, str], str]:
    """(email, period, params digest) -> state of the ledger rows already there for these periods."""
    rows = session.execute(
        select(deliveries.c.email, deliveries.c.period, deliveries.c.params_sha256, deliveries.c.state).where(
            deliveries.c.subscription_id == subscription_id, deliveries.c.period.in_(sorted(set(periods)))
        )
    )
    return {(r.email, r.period, r.params_sha256): r.state for r in rows}


def plan(
    store: Store, subscription_id: int, planned: Sequence[PlannedDelivery], *, run_id: str, now: dt.datetime
) -> int:
    """Add the rows that are not in the ledger yet (existing ones are left exactly as they are).

    Returns how many were added. Two planners racing: the unique key keeps one row per statement (the
    loser's transaction fails and its run plans again, finding the rows there)."""
    with store.write() as session:
        existing = existing_keys(session, subscription_id, {p.period for p in planned})
        new: dict[tuple[str, str, str], dict[str, Any]] = {}
        for item in planned:
            key = item.key
            if key in existing or key in new:
                continue
            new[key] = {
                "subscription_id": subscription_id,
                "email": item.email,
                "period": item.period,
                "params": item.params,
                "params_sha256": key[2],
                "locale": item.locale,
                "recipient_name": item.name,
                "state": item.state,
                "attempts": 0,
                "last_error": item.error,
                "run_id": run_id,
                "created_at": now,
            }
        rows = list(new.values())
        if rows:
            conn = session.connection()
            stamp_rows(conn, rows)
            for start in range(0, len(rows), 5000):
                conn.execute(insert(deliveries), rows[start : start + 5000])
    return len(rows)


def skip_unsubscribed(store: Store, subscription_id: int, run_id: str) -> int:
    """Rows waiting to be sent to someone who has unsubscribed since they were planned: skipped."""
    with store.write() as session:
        ids: list[int] = list(
            session.scalars(
                select(deliveries.c.id).where(
                    deliveries.c.subscription_id == subscription_id,
                    deliveries.c.state.in_(("pending", "failed")),
                    ~_not_unsubscribed(),
                )
            )
        )
        for delivery_id in ids:
            _set(session, delivery_id, state="skipped", last_error="unsubscribed", next_attempt_at=None, run_id=run_id)
    return len(ids)


def expire_claims(store: Store, now: dt.datetime) -> int:
    """Claims older than the lease: the sender died mid-send; the outcome is unknown (in doubt)."""
    with store.write() as session:
        ids: list[int] = list(
            session.scalars(
                select(deliveries.c.id).where(
                    deliveries.c.state == "sending", deliveries.c.claimed_at < now - CLAIM_LEASE
                )
            )
        )
        for delivery_id in ids:
            _set(
                session,
                delivery_id,
                state="in_doubt",
                last_error="the sender stopped between handing the message over and recording the outcome",
            )
    return len(ids)


def claimable_ids(store: Store, subscription_id: int, now: dt.datetime, *, email: str | None = None) -> list[int]:
    query = select(deliveries.c.id).where(deliveries.c.subscription_id == subscription_id, claimable(now))
    if email is not None:
        query = query.where(deliveries.c.email == email.lower())
    with store.read() as session:
        return list(session.scalars(query.order_by(deliveries.c.id)))


def preferred_locales(store: Store) -> dict[str, str]:
    """email -> the language a recipient chose on their own page."""
    with store.read() as session:
        rows = session.execute(
            select(RecipientPreference.email, RecipientPreference.locale).where(
                RecipientPreference.locale.is_not(None), RecipientPreference.deleted_at.is_(None)
            )
        )
        return {r.email: r.locale for r in rows}


def load(store: Store, ids: Sequence[int], now: dt.datetime) -> list[Delivery]:
    """The rows among `ids` that are still claimable, in id order."""
    with store.read() as session:
        rows = session.execute(
            select(deliveries).where(deliveries.c.id.in_(list(ids)), claimable(now)).order_by(deliveries.c.id)
        )
        return [
            Delivery(
                id=r.id,
                subscription_id=r.subscription_id,
                email=r.email,
                period=r.period,
                params=dict(r.params),
                params_sha256=r.params_sha256,
                locale=r.locale,
                name=r.recipient_name,
                attempts=r.attempts,
            )
            for r in rows
        ]


def _set(session: Session, delivery_id: int, *conditions: Any, **values: Any) -> bool:
    """Update one row (with a fresh change_seq) if `conditions` hold; True when it did."""
    conn = session.connection()
    values.update(change_seq=allocate_change_seq(conn, 1), updated_at=utcnow())
    stmt = update(deliveries).where(deliveries.c.id == delivery_id, *conditions).values(**values)
    return bool(conn.execute(stmt).rowcount)


def claim(store: Store, delivery_id: int, *, message_id: str, run_id: str, now: dt.datetime) -> bool:
    """Take the row for sending now. False when another run took it, it was sent, or its recipient left."""
    with store.write() as session:
        return _set(
            session,
            delivery_id,
            claimable(now),
            _not_unsubscribed(),
            state="sending",
            attempts=deliveries.c.attempts + 1,
            claimed_at=utcnow(),
            message_id=message_id,
            next_attempt_at=None,
            run_id=run_id,
        )


def record_sent(store: Store, delivery_id: int) -> None:
    with store.write() as session:
        _set(session, delivery_id, deliveries.c.state == "sending", state="sent", sent_at=utcnow(), last_error=None)


def retry_at(attempts: int, *, base_seconds: int, max_attempts: int, now: dt.datetime) -> dt.datetime | None:
    """When to try again after `attempts` failed attempts (doubling waits), or None: failed for good."""
    if attempts >= max_attempts:
        return None
    return now + dt.timedelta(seconds=base_seconds * 2 ** max(attempts - 1, 0))


def record_failure(
    store: Store,
    delivery_id: int,
    error: str,
    *,
    next_attempt_at: dt.datetime | None,
    claimed: bool,
    in_doubt: bool = False,
    run_id: str,
) -> None:
    """A failed attempt. `claimed`: the row is ours (`sending`); else the attempt failed before the claim
    (the report could not be rendered, the server is down), which counts as an attempt all the same."""
    with store.write() as session:
        attempts: Any
        if claimed:
            condition = deliveries.c.state == "sending"
            attempts = deliveries.c.attempts
        else:
            condition = deliveries.c.state.in_(("pending", "failed"))
            attempts = deliveries.c.attempts + 1
        _set(
            session,
            delivery_id,
            condition,
            state="in_doubt" if in_doubt else "failed",
            attempts=attempts,
            last_error=error[:MAX_ERROR_CHARS],
            next_attempt_at=None if in_doubt else next_attempt_at,
            run_id=run_id,
        )


def requeue(store: Store, subscription_id: int, *, states: Sequence[str], period: str | None, email: str | None) -> int:
    """An operator's decision to send again rows that are in doubt or failed for good: back to pending, with
    a fresh budget of attempts (the Message-ID stays the same, so a resend is recognisable)."""
    with store.write() as session:
        query = select(deliveries.c.id).where(
            deliveries.c.subscription_id == subscription_id, deliveries.c.state.in_(list(states))
        )
        if "failed" in states:
            query = query.where(or_(deliveries.c.state != "failed", deliveries.c.next_attempt_at.is_(None)))
        if period is not None:
            query = query.where(deliveries.c.period == period)
        if email is not None:
            query = query.where(deliveries.c.email == email.lower())
        ids: list[int] = list(session.scalars(query))
        for delivery_id in ids:
            _set(session, delivery_id, state="pending", next_attempt_at=None, attempts=0)
    return len(ids)


def state_counts(
    session: Session, *, subscription_id: int | None = None, period: str | None = None, run_id: str | None = None
) -> dict[tuple[int, str, str], int]:
    """(subscription_id, period, state) -> rows, optionally for one subscription, period or run."""
    query = select(
        deliveries.c.subscription_id, deliveries.c.period, deliveries.c.state, func.count().label("n")
    ).group_by(deliveries.c.subscription_id, deliveries.c.period, deliveries.c.state)
    if subscription_id is not None:
        query = query.where(deliveries.c.subscription_id == subscription_id)
    if period is not None:
        query = query.where(deliveries.c.period == period)
    if run_id is not None:
        query = query.where(deliveries.c.run_id == run_id)
    return {(r.subscription_id, r.period, r.state): int(r.n) for r in session.execute(query)}
