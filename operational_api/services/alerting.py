"""The life of an alert: raised once per (rule, subject), reminded while nobody acknowledges it, resolved when its
condition clears; and the notifications (emails, webhook calls) each step queues for the alerts service to send.

`observe` is given, for one rule, every subject whose condition holds now (its findings) and brings the alert log in
line with them. It is the only writer of rule-raised alerts, whoever evaluated the condition: the alerts service for
the operational rules, the warehouse build for metric rules.

- A subject that starts holding gets an open alert and a `raised` notice to each recipient, unless the same subject's
  last notice is younger than the rule's cooldown: then its alert is reopened without a notice (a condition that
  flaps does not flood anyone).
- A subject still holding keeps its alert (never a second one: a partial unique index on the unresolved ones); its
  values are refreshed, and while it stays open (not acknowledged) a `reminder` goes out every remind_minutes.
- A subject no longer holding has its alert resolved, and a `resolved` notice goes to those who were told of it
  (since its last resolution: an alert reopened silently and resolved again tells nobody twice).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from operational_api.db import Store
from operational_api.models import Alert, AlertNotification, AlertRule, allocate_change_seq
from operational_api.services.common import Conflict, NotFound

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finding:
    """One subject whose condition holds, with what a notice should say about it."""

    subject: str  # e.g. customer:12, machine:3, machine:3/product:7, hospital:5
    message: str
    values: dict[str, Any] = field(default_factory=dict)  # stored in the alert's details, sent in webhooks
    customer_id: int | None = None
    machine_id: int | None = None
    hospital_id: int | None = None


@dataclass
class Observed:
    raised: int = 0
    reopened: int = 0
    reminded: int = 0
    resolved: int = 0
    failed: int = 0  # rules that could not be evaluated or recorded (logged)

    def __iadd__(self, other: Observed) -> Observed:
        self.raised += other.raised
        self.reopened += other.reopened
        self.reminded += other.reminded
        self.resolved += other.resolved
        self.failed += other.failed
        return self


def _queue(session: Session, alert: Alert, event: str, sequence: int, targets: Sequence[tuple[str, str]],
           now: dt.datetime) -> None:  # fmt: skip
    for channel, target in sorted(set(targets)):  # a rule naming one address twice tells it once
        session.add(AlertNotification(alert_id=alert.id, event=event, sequence=sequence, channel=channel,
                                      target=target, status="pending", attempts=0, next_attempt_at=now))  # fmt: skip


def _recipients(rule: AlertRule) -> list[tuple[str, str]]:
    return [("email", e) for e in rule.emails] + [("webhook", w) for w in rule.webhooks]


def _reminders(session: Session, alert_id: int) -> int:
    rows = session.scalars(
        select(AlertNotification.sequence).where(
            AlertNotification.alert_id == alert_id, AlertNotification.event == "reminder"
        )
    ).all()
    return max(rows, default=0)


def _resolution(session: Session, alert_id: int) -> tuple[list[tuple[str, str]], int]:
    """Who was told of the alert since its last resolution notice (they hear it resolved), and that notice's
    sequence. Nobody, for an alert reopened silently (within the cooldown) and resolved again."""
    n = AlertNotification
    rows = session.execute(
        select(n.id, n.event, n.sequence, n.channel, n.target).where(n.alert_id == alert_id).order_by(n.id)
    ).all()
    last = max((r.id for r in rows if r.event == "resolved"), default=0)
    sequence = 1 + max((r.sequence for r in rows if r.event == "resolved"), default=-1)
    return [(r.channel, r.target) for r in rows if r.event != "resolved" and r.id > last], sequence


def cancel_reminders(session: Session, alert_id: int, why: str) -> None:
    """Reminders queued and not sent yet no longer apply (the alert was acknowledged or resolved meanwhile)."""
    session.execute(
        update(AlertNotification)
        .where(AlertNotification.alert_id == alert_id, AlertNotification.event == "reminder")
        .where(AlertNotification.status == "pending")
        .values(
            status="failed",
            last_error=f"not sent: {why}",
            change_seq=allocate_change_seq(session.connection(), 1),
            updated_at=dt.datetime.now(dt.UTC),
        )
        .execution_options(synchronize_session=False)
    )


def observe(session: Session, rule: AlertRule, findings: Sequence[Finding], now: dt.datetime) -> Observed:
    """Bring `rule`'s alerts in line with the subjects whose condition holds now (see the module's docstring)."""
    done = Observed()
    standing = {
        a.subject: a
        for a in session.scalars(select(Alert).where(Alert.rule_id == rule.id, Alert.status != "resolved")).all()
    }
    for finding in {f.subject: f for f in findings}.values():
        alert = standing.pop(finding.subject, None)
        if alert is None:
            alert = _reopenable(session, rule, finding.subject, now)
            new = alert is None
            if alert is None:
                alert = Alert(rule_id=rule.id, subject=finding.subject, kind=rule.kind, severity=rule.severity,
                              status="open", raised_at=now, notified_at=now, occurrences=1)  # fmt: skip
                session.add(alert)
                done.raised += 1
            else:
                alert.status, alert.resolved_at, alert.acknowledged_at, alert.acknowledged_by = "open", None, None, None
                alert.occurrences += 1
                done.reopened += 1
            _describe(alert, finding, now)
            session.flush()
            if new:
                _queue(session, alert, "raised", 0, _recipients(rule), now)
            continue
        _describe(alert, finding, now)
        due = alert.notified_at is None or alert.notified_at <= now - dt.timedelta(minutes=rule.remind_minutes)
        if alert.status == "open" and rule.remind_minutes > 0 and due:
            alert.notified_at = now
            session.flush()
            _queue(session, alert, "reminder", _reminders(session, alert.id) + 1, _recipients(rule), now)
            done.reminded += 1
    for alert in standing.values():  # its condition cleared
        alert.status, alert.resolved_at = "resolved", now
        session.flush()
        cancel_reminders(session, alert.id, "resolved")
        told, sequence = _resolution(session, alert.id)
        _queue(session, alert, "resolved", sequence, told, now)
        done.resolved += 1
    return done


def _reopenable(session: Session, rule: AlertRule, subject: str, now: dt.datetime) -> Alert | None:
    """The subject's last alert, if its last notice is younger than the cooldown."""
    if rule.cooldown_minutes <= 0:
        return None
    last = session.scalars(
        select(Alert).where(Alert.rule_id == rule.id, Alert.subject == subject).order_by(Alert.id.desc()).limit(1)
    ).first()
    if last is None or last.notified_at is None:
        return None
    return last if last.notified_at > now - dt.timedelta(minutes=rule.cooldown_minutes) else None


def _describe(alert: Alert, finding: Finding, now: dt.datetime) -> None:
    alert.message = finding.message
    alert.details = finding.values
    alert.customer_id, alert.machine_id, alert.hospital_id = (
        finding.customer_id,
        finding.machine_id,
        finding.hospital_id,
    )
    alert.last_seen_at = now


def retire(session: Session, now: dt.datetime) -> int:
    """Resolve, without a notice, the unresolved alerts of rules since disabled or deleted (nothing would ever
    resolve them otherwise)."""
    gone = select(AlertRule.id).where((AlertRule.enabled.is_(False)) | (AlertRule.deleted_at.is_not(None)))
    alerts = session.scalars(select(Alert).where(Alert.status != "resolved", Alert.rule_id.in_(gone))).all()
    for alert in alerts:
        alert.status, alert.resolved_at = "resolved", now
    return len(alerts)


# -- people acting on an alert ---------------------------------------------------------------------------------
def acknowledge(session: Session, alert_id: int, by: str, now: dt.datetime) -> Alert:
    """Someone is on it: no more reminders. Idempotent; an alert already resolved stays resolved."""
    alert = get(session, alert_id)
    if alert.status == "open":
        alert.status, alert.acknowledged_at, alert.acknowledged_by = "acknowledged", now, by[:254]
        cancel_reminders(session, alert.id, "acknowledged")
        log.info("alert %d acknowledged by %s", alert.id, by)
    return alert


def resolve(session: Session, alert_id: int, by: str, now: dt.datetime) -> Alert:
    """Closed by hand. If its rule still finds the condition, the next evaluation raises it again (after the
    rule's cooldown, silently reopened before)."""
    alert = get(session, alert_id)
    if alert.status != "resolved":
        alert.status, alert.resolved_at = "resolved", now
        if alert.acknowledged_by is None:
            alert.acknowledged_at, alert.acknowledged_by = now, by[:254]
        cancel_reminders(session, alert.id, "resolved")
        log.info("alert %d resolved by %s", alert.id, by)
    return alert


def get(session: Session, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None or alert.deleted_at is not None:
        raise NotFound(f"alert {alert_id} not found")
    return alert


def act(store: Store, alert_id: int, action: str, by: str, now: dt.datetime) -> Alert:
    if action not in ("acknowledge", "resolve"):
        raise Conflict(f"unknown action {action!r}")
    with store.write() as session:
        alert = (acknowledge if action == "acknowledge" else resolve)(session, alert_id, by, now)
        session.flush()
        session.expunge(alert)
        return alert
