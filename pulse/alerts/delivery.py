"""Sending what alerts queued: emails through the same SMTP path as reports, webhook calls with httpx; retried with
backoff until delivered or out of attempts, never twice.

Each due notification is first claimed (its next attempt moved a lease ahead, in one UPDATE that only one sender can
win), then sent, then its outcome recorded. Two alerts services on one store therefore never send the same notice
twice, and a service killed mid-send leaves the notice to be retried after the lease (an email then keeps its
Message-ID, so a copy that did arrive is recognised).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any, cast

import httpx
from sqlalchemy import CursorResult, select, update

from operational_api.db import Store
from operational_api.models import Alert, AlertNotification, AlertRule, utcnow
from operational_api.services.webhooks import WebhookRefused, check_resolved, shown
from operational_api.unsubscribe import alert_url, signing_key
from pulse.alerts import notices
from pulse.alerts.notices import Notice
from pulse.core.settings import Settings
from reports.mail import sender_address
from reports.smtp import Outcome, SmtpSender

log = logging.getLogger(__name__)
LEASE = dt.timedelta(minutes=5)
MAX_BACKOFF = dt.timedelta(hours=1)
BATCH = 200


@dataclass(frozen=True)
class Result:
    state: str  # sent, retry, failed, in_doubt
    detail: str = ""


def backoff(settings: Settings, attempts: int) -> dt.timedelta:
    """Wait before attempt `attempts + 1`: PULSE_ALERTS_RETRY_SECONDS doubled per attempt made, at most an hour."""
    return min(dt.timedelta(seconds=settings.alerts_retry_seconds * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def due(store: Store, now: dt.datetime, limit: int = BATCH) -> list[Notice]:
    n, a, r = AlertNotification, Alert, AlertRule
    with store.read() as session:
        rows = session.execute(
            select(n, a, r.name)
            .join(a, a.id == n.alert_id)
            .join(r, r.id == a.rule_id)
            .where(n.status == "pending", n.next_attempt_at <= now)
            .order_by(n.next_attempt_at, n.id)
            .limit(limit)
        ).all()
        return [
            Notice(
                notification_id=note.id,
                alert_id=alert.id,
                event=note.event,
                sequence=note.sequence,
                channel=note.channel,
                target=note.target,
                attempts=note.attempts,
                rule_name=name,
                kind=alert.kind,
                severity=alert.severity,
                status=alert.status,
                subject=alert.subject,
                message=alert.message,
                values=dict(alert.details or {}),
                raised_at=alert.raised_at,
                resolved_at=alert.resolved_at,
                occurrences=alert.occurrences,
            )
            for note, alert, name in rows
        ]


def _claim(store: Store, notice: Notice, now: dt.datetime) -> bool:
    n = AlertNotification
    with store.write() as session:
        result = session.execute(
            update(n)
            .where(n.id == notice.notification_id, n.status == "pending", n.next_attempt_at <= now)
            .values(next_attempt_at=now + LEASE)
            .execution_options(synchronize_session=False)
        )
    return bool(cast(CursorResult[Any], result).rowcount)


def _record(store: Store, settings: Settings, notice: Notice, result: Result, now: dt.datetime) -> str:
    attempts = notice.attempts + 1
    state = result.state
    if state == "retry" and attempts >= settings.alerts_max_attempts:
        state = "failed"
    with store.write() as session:
        note = session.get(AlertNotification, notice.notification_id)
        assert note is not None
        note.attempts = attempts
        note.last_error = result.detail[:500] or None
        if state == "sent":
            note.status, note.sent_at, note.last_error = "sent", now, None
        elif state == "retry":
            note.next_attempt_at = now + backoff(settings, attempts)
        else:
            note.status = state
    return state


def _send_email(sender: SmtpSender, settings: Settings, key: bytes, notice: Notice, now: dt.datetime) -> Result:
    link = alert_url(settings, key, notice.alert_id, notice.target)
    data = notices.email(notice, smtp_from=settings.smtp_from, link=link, now=now)
    sent = sender.send(sender_address(settings.smtp_from), notice.target, data)
    state = {Outcome.SENT: "sent", Outcome.RETRY: "retry", Outcome.REJECTED: "failed", Outcome.IN_DOUBT: "in_doubt"}
    return Result(state[sent.outcome], "" if sent.outcome is Outcome.SENT else sent.detail)


def _send_webhook(client: httpx.Client, settings: Settings, key: bytes, notice: Notice) -> Result:
    try:
        check_resolved(notice.target, settings)
    except WebhookRefused as err:
        return Result("failed", str(err))
    except ConnectionError as err:
        return Result("retry", str(err))
    body = notices.webhook(notice, link=alert_url(settings, key, notice.alert_id, "webhook"))
    try:
        response = client.post(notice.target, json=body, headers={"X-Pulse-Alert": str(notice.alert_id)})
    except httpx.HTTPError as err:
        return Result("retry", f"{type(err).__name__}: {shown(notice.target)} did not answer")
    if response.is_success:
        return Result("sent")
    # A receiver that is down, overloaded or rate-limiting may take it later; one that refuses the request will not.
    retry = response.status_code in (408, 425, 429) or response.status_code >= 500
    return Result("retry" if retry else "failed", f"{shown(notice.target)} answered {response.status_code}")


def deliver_due(store: Store, settings: Settings, now: dt.datetime | None = None) -> Counter[str]:
    """Send every notification that is due; counts by outcome (sent, retry, failed, in_doubt)."""
    now = now or utcnow()
    outcomes: Counter[str] = Counter()
    pending = due(store, now)
    if not pending:
        return outcomes
    key = signing_key(settings)
    # Redirects are not followed: a public URL must not bounce Pulse onto an internal one.
    with (
        SmtpSender(settings) as sender,
        httpx.Client(timeout=settings.alerts_webhook_timeout_seconds, follow_redirects=False) as client,
    ):
        for notice in pending:
            if not _claim(store, notice, now):
                continue  # another sender took it
            if notice.channel == "email":
                result = _send_email(sender, settings, key, notice, now)
            else:
                result = _send_webhook(client, settings, key, notice)
            state = _record(store, settings, notice, result, utcnow())
            outcomes[state] += 1
            where = notice.target if notice.channel == "email" else shown(notice.target)
            if state == "sent":
                log.info("alert %d: %s %s sent to %s", notice.alert_id, notice.event, notice.channel, where)
            else:
                log.warning("alert %d: %s %s to %s: %s (%s)", notice.alert_id, notice.event, notice.channel, where,
                            state, result.detail)  # fmt: skip
    return outcomes
