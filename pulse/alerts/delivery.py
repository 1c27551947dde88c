"""Sending what alerts queued: emails through the same SMTP path as reports, webhook calls with httpx; retried with
backoff until delivered or out of attempts, never twice: a call that may have reached its receiver (the connection
broke, or the answer did not come, after the request went out) is left in doubt, not retried.

Each due notification is first claimed (its next attempt moved a lease ahead, in one UPDATE that only one sender can
win), then sent, then its outcome recorded. Two alerts services on one store therefore never send the same notice
twice, and a service killed mid-send leaves the notice to be retried after the lease (an email then keeps its
Message-ID, so a copy that did arrive is recognised).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter
from dataclasses import dataclass

import httpx
from sqlalchemy import select, update

from operational_api.db import Store
from operational_api.models import Alert, AlertNotification, AlertRule, utcnow
from operational_api.services.webhooks import Target, WebhookRefused, resolve, shown
from operational_api.unsubscribe import alert_url, signing_key
from pulse.alerts import notices
from pulse.alerts.notices import Notice
from pulse.core.settings import Settings
from reports.mail import sender_address
from reports.smtp import Outcome, SmtpSender

log = logging.getLogger(__name__)
LEASE = dt.timedelta(minutes=5)
MAX_BACKOFF = dt.timedelta(hours=1)
BATCH = 1000
MAX_GROUP = 200  # alerts in one digest message


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


def _claim(store: Store, group: list[Notice], now: dt.datetime) -> tuple[list[Notice], dt.datetime]:
    """The notices of `group` this sender now owns, and until when: their next attempt moved a lease ahead of the
    time of the claim (not of the round's start: a long round must not hand out leases already over), in one UPDATE
    that only one sender wins for each row."""
    n = AlertNotification
    now = max(now, utcnow())
    lease = now + LEASE
    with store.write() as session:
        won = set(
            session.scalars(
                update(n)
                .where(n.id.in_([notice.notification_id for notice in group]), n.status == "pending")
                .where(n.next_attempt_at <= now)
                .values(next_attempt_at=lease)
                .returning(n.id)
                .execution_options(synchronize_session=False)
            ).all()
        )
    return [notice for notice in group if notice.notification_id in won], lease


def _record(
    store: Store, settings: Settings, group: list[Notice], result: Result, lease: dt.datetime, now: dt.datetime
) -> Counter[str]:
    """Each notice's outcome (a retry out of attempts fails for good); counts by final state. A notice whose lease ran
    out while it was being sent, and which another sender has claimed since, is that sender's to record."""
    states: Counter[str] = Counter()
    now = max(now, utcnow())
    with store.write() as session:
        for notice in group:
            note = session.get(AlertNotification, notice.notification_id)
            assert note is not None
            if note.status != "pending" or note.next_attempt_at != lease:
                continue
            note.attempts = notice.attempts + 1
            state = (
                "failed" if result.state == "retry" and note.attempts >= settings.alerts_max_attempts else result.state
            )
            note.last_error = result.detail[:500] or None
            if state == "sent":
                note.status, note.sent_at, note.last_error = "sent", now, None
            elif state == "retry":
                note.next_attempt_at = now + backoff(settings, note.attempts)
            else:
                note.status = state
            states[state] += 1
    return states


def _send_email(sender: SmtpSender, settings: Settings, key: bytes, group: list[Notice], now: dt.datetime) -> Result:
    target = group[0].target
    data = notices.email(group, smtp_from=settings.smtp_from, now=now,
                         links=lambda alert_id: alert_url(settings, key, alert_id, target))  # fmt: skip
    sent = sender.send(sender_address(settings.smtp_from), target, data)
    state = {Outcome.SENT: "sent", Outcome.RETRY: "retry", Outcome.REJECTED: "failed", Outcome.IN_DOUBT: "in_doubt"}
    return Result(state[sent.outcome], "" if sent.outcome is Outcome.SENT else sent.detail)


def _post(client: httpx.Client, target: Target, body: dict[str, object], ids: str) -> httpx.Response:
    headers = {"X-Pulse-Alert": ids.split(":", 1)[0], "X-Pulse-Notification": ids}
    if target.host_header:
        headers["Host"] = target.host_header
    extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else None
    return client.post(target.url, json=body, headers=headers, extensions=extensions)


def _send_webhook(client: httpx.Client, settings: Settings, key: bytes, group: list[Notice]) -> Result:
    url = group[0].target
    try:
        target = resolve(url, settings)
    except WebhookRefused as err:
        return Result("failed", str(err))
    except ConnectionError as err:
        return Result("retry", str(err))
    body = notices.webhook(group, links=lambda alert_id: alert_url(settings, key, alert_id, "webhook"))
    # The receiver tells a retried notice by this (the same for every attempt at it): its idempotency key.
    ids = f"{group[0].alert_id}:{','.join(str(n.notification_id) for n in group)}"
    answer: list[httpx.Response | Exception] = []

    def call() -> None:
        try:
            answer.append(_post(client, target, body, ids))
        except Exception as err:  # handed back to the caller
            answer.append(err)

    # httpx's timeouts bound each read, not the call: a receiver trickling its answer byte by byte would hold the
    # service. The call runs in a thread given at most three timeouts; past that it is left to finish on its own.
    worker = threading.Thread(target=call, daemon=True, name="webhook")
    worker.start()
    worker.join(3 * settings.alerts_webhook_timeout_seconds)
    if not answer:
        return Result("in_doubt", f"{shown(url)} took too long to answer: it may have the notice")
    outcome = answer[0]
    if isinstance(outcome, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return Result("retry", f"{type(outcome).__name__}: {shown(url)} did not answer")
    if isinstance(outcome, Exception):  # the request went out, the answer did not come back: never twice
        return Result("in_doubt", f"{type(outcome).__name__}: {shown(url)} may have the notice")
    if outcome.is_success:
        return Result("sent")
    # A receiver that is down, overloaded or rate-limiting may take it later; one that refuses the request will not.
    retry = outcome.status_code in (408, 425, 429) or outcome.status_code >= 500
    return Result("retry" if retry else "failed", f"{shown(url)} answered {outcome.status_code}")


def _send(sender: SmtpSender, client: httpx.Client, settings: Settings, key: bytes, group: list[Notice]) -> Result:
    try:
        if group[0].channel == "email":
            return _send_email(sender, settings, key, group, utcnow())
        return _send_webhook(client, settings, key, group)
    except Exception as err:  # a notice that cannot even be built fails alone, not the round
        log.exception("alerts %s: the notice could not be sent", ", ".join(str(n.alert_id) for n in group))
        return Result("failed", f"{type(err).__name__} while building or sending the notice")


def _groups(pending: list[Notice]) -> list[list[Notice]]:
    """One message per rule, event, channel and recipient (at most MAX_GROUP alerts each), in due order."""
    groups: dict[tuple[str, str, str, str], list[list[Notice]]] = {}
    for notice in pending:
        chunks = groups.setdefault((notice.rule_name, notice.event, notice.channel, notice.target), [[]])
        if len(chunks[-1]) >= MAX_GROUP:
            chunks.append([])
        chunks[-1].append(notice)
    return [chunk for chunks in groups.values() for chunk in chunks]


def deliver_due(store: Store, settings: Settings, now: dt.datetime | None = None) -> Counter[str]:
    """Send every notification that is due; counts notifications by outcome (sent, retry, failed, in_doubt)."""
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
        for group in _groups(pending):
            claimed, lease = _claim(store, group, now)  # the rest: another sender's
            if not claimed:
                continue
            first = claimed[0]
            result = _send(sender, client, settings, key, claimed)
            outcomes += _record(store, settings, claimed, result, lease, now)
            where = first.target if first.channel == "email" else shown(first.target)
            alerts = ", ".join(str(n.alert_id) for n in claimed)
            if result.state == "sent":
                log.info("alerts %s: %s %s sent to %s", alerts, first.event, first.channel, where)
            else:
                log.warning("alerts %s: %s %s to %s: %s (%s)", alerts, first.event, first.channel, where,
                            result.state, result.detail)  # fmt: skip
    return outcomes
