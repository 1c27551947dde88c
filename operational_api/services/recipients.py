"""What a report recipient may see and change on their own page: the subscriptions that send to their address,
their statements, their language, unsubscribe and subscribe again. Everything here is keyed by the one address the
signed link names, so a link never shows another recipient's data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from operational_api.db import Store
from operational_api.models import RecipientPreference, ReportDelivery, ReportSubscription, ReportUnsubscribe
from operational_api.services.common import Conflict, Invalid, NotFound, tombstone
from operational_api.services.reporting import record_unsubscribe
from pulse.core.vocabulary import LOCALES


@dataclass(frozen=True)
class RecipientSubscription:
    id: int
    name: str
    description: str | None
    report_kind: str
    subscribed: bool
    statements: int  # statements sent to the address


def subscriptions_of(session: Session, email: str) -> list[RecipientSubscription]:
    """The live subscriptions that planned a statement for `email` or that it left."""
    email = email.lower()
    sent = dict(
        session.execute(
            select(ReportDelivery.subscription_id, func.count())
            .where(ReportDelivery.email == email, ReportDelivery.state == "sent")
            .group_by(ReportDelivery.subscription_id)
        ).all()
    )
    planned = set(session.scalars(select(ReportDelivery.subscription_id).where(ReportDelivery.email == email)))
    left = set(
        session.scalars(
            select(ReportUnsubscribe.subscription_id).where(
                ReportUnsubscribe.email == email, ReportUnsubscribe.deleted_at.is_(None)
            )
        )
    )
    rows = session.scalars(
        select(ReportSubscription)
        .where(ReportSubscription.id.in_(planned | left), ReportSubscription.deleted_at.is_(None))
        .order_by(ReportSubscription.name)
    )
    return [
        RecipientSubscription(r.id, r.name, r.description, r.report_kind, r.id not in left, int(sent.get(r.id, 0)))
        for r in rows
    ]


def statements_of(session: Session, email: str, limit: int = 24) -> Sequence[ReportDelivery]:
    """The address's latest statements (of live subscriptions), newest period first."""
    return session.scalars(
        select(ReportDelivery)
        .join(ReportSubscription, ReportSubscription.id == ReportDelivery.subscription_id)
        .where(ReportDelivery.email == email.lower(), ReportSubscription.deleted_at.is_(None))
        .order_by(ReportDelivery.period.desc(), ReportDelivery.id.desc())
        .limit(limit)
    ).all()


def preferred_locale(session: Session, email: str) -> str | None:
    return session.scalars(
        select(RecipientPreference.locale).where(
            RecipientPreference.email == email.lower(), RecipientPreference.deleted_at.is_(None)
        )
    ).one_or_none()


def set_locale(store: Store, email: str, locale: str) -> None:
    if locale not in LOCALES:
        raise Invalid("bad language", [(("body", "locale"), f"one of {', '.join(LOCALES)}")])
    email = email.lower()
    for _ in range(2):  # two tabs may save at once: the second finds the first's row
        try:
            with store.write() as session:
                row = session.scalars(select(RecipientPreference).where(RecipientPreference.email == email)).first()
                if row is None:
                    session.add(RecipientPreference(email=email, locale=locale))
                else:
                    row.locale, row.deleted_at = locale, None
                session.flush()
                return
        except IntegrityError:
            continue
    raise Conflict("the language could not be saved; try again")


def _offered(session: Session, email: str, subscription_id: int) -> None:
    """Refuse a subscription the page does not list: the address may only change its own."""
    if subscription_id not in {s.id for s in subscriptions_of(session, email)}:
        raise NotFound(f"no subscription {subscription_id} sends to this address")


def unsubscribe(store: Store, email: str, subscription_id: int) -> str:
    with store.read() as session:
        _offered(session, email, subscription_id)
    return record_unsubscribe(store, subscription_id, email)


def resubscribe(store: Store, email: str, subscription_id: int) -> None:
    """Receive the subscription again from its next run (idempotent)."""
    with store.write() as session:
        _offered(session, email, subscription_id)
        for row in session.scalars(
            select(ReportUnsubscribe).where(
                ReportUnsubscribe.subscription_id == subscription_id,
                ReportUnsubscribe.email == email.lower(),
                ReportUnsubscribe.deleted_at.is_(None),
            )
        ):
            tombstone(row)
        session.flush()
