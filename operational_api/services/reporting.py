"""Report subscriptions: create, change, list and tombstone them; record unsubscribes; read the ledger.

A recipient query is checked against the warehouse (as the read-only user, without running it) before
it is stored, outside the write transaction: a bad query is a 422 naming the reason, an unreachable
warehouse a 503 (nothing stored). Changing only `enabled`, the name or the schedule needs no warehouse.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from operational_api.db import Store
from operational_api.models import ReportDelivery, ReportSubscription, ReportUnsubscribe, utcnow
from operational_api.models.reporting import ATTACHMENT_FORMATS
from operational_api.services.audiences import CUSTOM, audience_query
from operational_api.services.common import (
    Conflict,
    Invalid,
    NotFound,
    Unavailable,
    decode_cursor,
    encode_cursor,
    tombstone,
)
from operational_api.services.recipient_queries import RecipientQueryError, validate_query
from pulse.core.schedule import next_fire
from pulse.core.settings import Settings
from warehouse.identities import WarehouseUnavailable


def check_query(settings: Settings, kind: str, query: str) -> None:
    """Statement, columns and tables checked by the warehouse itself, as the read-only user."""
    try:
        validate_query(settings, kind, query)
    except RecipientQueryError as err:
        raise Invalid("the recipient query cannot be used", [(("body", "recipient_query"), str(err))]) from None
    except WarehouseUnavailable as err:
        raise Unavailable(f"cannot check the recipient query now: {err}; nothing was stored, try again") from None


def next_fire_at(row: ReportSubscription, now: dt.datetime | None = None) -> dt.datetime | None:
    if not row.enabled or row.deleted_at is not None:
        return None
    return next_fire(row.cron, row.time_zone, now or utcnow())


def _unique_name(session: Session, name: str, self_id: int | None = None) -> None:
    query = select(ReportSubscription.id).where(ReportSubscription.name == name)
    if self_id is not None:
        query = query.where(ReportSubscription.id != self_id)
    if session.execute(query.limit(1)).first() is not None:
        raise Conflict("another subscription has this name", [(("body", "name"), "already used")])


def _flush(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as err:
        raise Conflict("the change conflicts with another subscription (its name)") from err


def with_audience(values: dict[str, Any], kind: str, current: dict[str, Any] | None = None) -> dict[str, Any]:
    """An audience preset writes the recipient query; a query written by hand clears the preset. On a change of
    report kind alone, the stored preset writes the query again (or says it cannot address that report)."""
    audience = values.get("audience")
    if audience is not None:
        audience = {key: value for key, value in audience.items() if value is not None}
    if audience is None and "recipient_query" not in values and current and "report_kind" in values:
        audience = current  # the kind changed under a preset: its query must follow
    if audience is not None and audience.get("preset") != CUSTOM:
        if values.get("recipient_query"):
            raise Invalid("two audiences", [(("body", "recipient_query"), "send an audience preset or a query")])
        stored, query = audience_query(kind, audience)
        return {**values, "audience": stored, "recipient_query": query}
    values = {key: value for key, value in values.items() if key != "audience"}
    if "recipient_query" in values:
        values["audience"] = None
    elif audience is not None:
        raise Invalid("no recipient query", [(("body", "recipient_query"), "a custom audience needs its query")])
    return values


def _attachments(values: dict[str, Any]) -> None:
    """The attachment formats, checked here too (the portal calls this without the API's schema) and stored in one
    order, so that a subscription reads the same however they were listed."""
    if values.get("attachments") is None:
        return
    asked = list(values["attachments"])
    unknown = [f for f in asked if f not in ATTACHMENT_FORMATS]
    if unknown or len(set(asked)) != len(asked):
        reason = f"unknown format(s) {', '.join(map(str, unknown))}" if unknown else "a format is listed twice"
        raise Invalid("bad attachments", [(("body", "attachments"), f"{reason}: use {', '.join(ATTACHMENT_FORMATS)}")])
    values["attachments"] = [f for f in ATTACHMENT_FORMATS if f in asked]


def create_subscription(store: Store, settings: Settings, values: dict[str, Any]) -> ReportSubscription:
    _attachments(values)
    values = with_audience(values, values["report_kind"])
    if not values.get("recipient_query"):
        raise Invalid("no audience", [(("body", "recipient_query"), "choose an audience preset or write a query")])
    check_query(settings, values["report_kind"], values["recipient_query"])
    with store.write() as session:
        _unique_name(session, values["name"])
        row = ReportSubscription(**values)
        session.add(row)
        _flush(session)
        return row


def live_subscription(session: Session, subscription_id: int) -> ReportSubscription:
    row = session.get(ReportSubscription, subscription_id)
    if row is None or row.deleted_at is not None:
        raise NotFound(f"no report subscription with id {subscription_id}")
    return row


def update_subscription(
    store: Store, settings: Settings, subscription_id: int, values: dict[str, Any]
) -> ReportSubscription:
    values = {k: v for k, v in values.items() if v is not None or k == "description"}
    _attachments(values)
    with store.read() as session:
        current = live_subscription(session, subscription_id)
        kind = values.get("report_kind", current.report_kind)
        values = with_audience(values, kind, current.audience)
        query = values.get("recipient_query", current.recipient_query)
        changed_query = kind != current.report_kind or query != current.recipient_query
    if changed_query:
        check_query(settings, kind, query)
    with store.write() as session:
        row = live_subscription(session, subscription_id)
        if "name" in values:
            _unique_name(session, values["name"], self_id=row.id)
        for key, value in values.items():
            setattr(row, key, value)
        _flush(session)
        return row


def delete_subscription(store: Store, subscription_id: int) -> None:
    with store.write() as session:
        tombstone(live_subscription(session, subscription_id))
        session.flush()


def list_subscriptions(
    session: Session, *, limit: int, cursor: str | None, include_deleted: bool
) -> tuple[Sequence[ReportSubscription], str | None]:
    query = select(ReportSubscription)
    if not include_deleted:
        query = query.where(ReportSubscription.deleted_at.is_(None))
    if cursor is not None:
        query = query.where(ReportSubscription.id > _int_cursor(cursor))
    rows = session.scalars(query.order_by(ReportSubscription.id).limit(limit + 1)).all()
    return rows[:limit], encode_cursor(rows[limit - 1].id) if len(rows) > limit else None


def _int_cursor(cursor: str) -> int:
    raw = decode_cursor(cursor)
    if not raw.isdigit() or len(raw) > 18:
        raise Invalid("bad cursor", [(("query", "cursor"), "not a cursor this API returned")])
    return int(raw)


def list_deliveries(
    session: Session,
    subscription_id: int,
    *,
    state: str | None,
    period: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[Sequence[ReportDelivery], str | None]:
    live_subscription(session, subscription_id)
    query = select(ReportDelivery).where(ReportDelivery.subscription_id == subscription_id)
    if state is not None:
        query = query.where(ReportDelivery.state == state)
    if period is not None:
        query = query.where(ReportDelivery.period == period)
    if cursor is not None:
        query = query.where(ReportDelivery.id > _int_cursor(cursor))
    rows = session.scalars(query.order_by(ReportDelivery.id).limit(limit + 1)).all()
    return rows[:limit], encode_cursor(rows[limit - 1].id) if len(rows) > limit else None


def record_unsubscribe(store: Store, subscription_id: int, email: str) -> str:
    """Remember that `email` wants nothing more from the subscription (idempotent); returns its name.

    A tombstoned subscription still records it: a link in an old email keeps working if it comes back."""
    email = email.lower()
    for _ in range(2):  # a concurrent click on the same link may insert first: then it is recorded
        try:
            with store.write() as session:
                subscription = session.get(ReportSubscription, subscription_id)
                if subscription is None:
                    raise NotFound("this unsubscribe link names a subscription that does not exist")
                row = session.scalars(
                    select(ReportUnsubscribe).where(
                        ReportUnsubscribe.subscription_id == subscription_id, ReportUnsubscribe.email == email
                    )
                ).one_or_none()
                if row is None:
                    session.add(ReportUnsubscribe(subscription_id=subscription_id, email=email))
                elif row.deleted_at is not None:
                    row.deleted_at = None
                session.flush()
                return subscription.name
        except IntegrityError:
            continue
    raise Conflict("the unsubscribe could not be recorded; follow the link again")
