"""Alerts: the rules that raise them, the alerts themselves (the alert log, extracted) and their notifications.

A rule (internal: its recipients and webhook URLs are not for the warehouse) names a condition - an operational one
evaluated from this store every few seconds, or a metric of the metrics layer checked after each warehouse build -
and who is told. An alert is one (rule, subject) while its condition holds: at most one unresolved alert per rule and
subject (a partial unique index), so a condition that keeps holding never raises a second one. Every email and
webhook call an alert causes is a notification row (internal): retried with backoff until it is delivered.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from operational_api.models.base import Base, BigIntPK, JSONDoc, UTCDateTime, table_comment
from operational_api.models.vending import enum

# What a rule watches. Operational kinds are evaluated from the store; `metric` from the warehouse.
OPERATIONAL_RULE_KINDS = ("pin_lockout", "bad_credentials", "machine_offline", "low_stock", "failed_top_up")
RULE_KINDS = (*OPERATIONAL_RULE_KINDS, "metric")
ALERT_KINDS = (*RULE_KINDS, "other")  # `other`: raised by an integration through the API, not by a rule
ALERT_STATUSES = ("open", "acknowledged", "resolved")
SEVERITIES = ("info", "warning", "critical")
CHANNELS = ("email", "webhook")
# raised: the first notice; reminder: still open and nobody acknowledged it; resolved: the condition cleared.
NOTIFICATION_EVENTS = ("raised", "reminder", "resolved")
# pending: to be sent (now or at next_attempt_at); in_doubt: an SMTP connection broke after the data went out
# (never sent twice); failed: refused for good or out of attempts.
NOTIFICATION_STATES = ("pending", "sent", "failed", "in_doubt")


class AlertRule(Base):
    __tablename__ = "alert_rules"
    __table_args__ = table_comment(
        "What raises an alert and who is told (emails, webhook URLs: not extracted).", extract=False
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    name: Mapped[str] = mapped_column(String(120), unique=True, comment="Unique name, shown in every notice.")
    kind: Mapped[str] = mapped_column(enum("alert_rule_kind", RULE_KINDS), comment="The condition watched.")
    severity: Mapped[str] = mapped_column(enum("alert_rule_severity", SEVERITIES), comment="info, warning, critical.")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, comment="Evaluated only when true.")
    params: Mapped[dict[str, Any]] = mapped_column(JSONDoc, comment="The condition's parameters (per kind).")
    emails: Mapped[list[str]] = mapped_column(JSONDoc, comment="Addresses told by email.")
    webhooks: Mapped[list[str]] = mapped_column(JSONDoc, comment="URLs told by a JSON POST (secrets: never logged).")
    cooldown_minutes: Mapped[int] = mapped_column(
        Integer, default=60, comment="A subject that fires again this soon after its last notice reopens it silently."
    )
    remind_minutes: Mapped[int] = mapped_column(
        Integer, default=60, comment="Remind this often while open and unacknowledged; 0: never."
    )


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_rule_id_subject_unresolved",
            "rule_id",
            "subject",
            unique=True,
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
        {"comment": "The alert log: what was raised (by a rule or an integration), its state and values."},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    kind: Mapped[str] = mapped_column(enum("alert_kind", ALERT_KINDS), comment="What happened.")
    severity: Mapped[str] = mapped_column(String(16), default="warning", comment="info, warning, critical.")
    status: Mapped[str] = mapped_column(
        enum("alert_status", ALERT_STATUSES), default="open", comment="open, acknowledged, resolved."
    )
    customer_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customers.id"), index=True, comment="Customer concerned."
    )
    machine_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("machines.id"), comment="Machine concerned.")
    message: Mapped[str] = mapped_column(Text, comment="What the owner should know (no secrets).")
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc, comment="Structured details.")
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), comment="When raised.")
    rule_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("alert_rules.id"), index=True, comment="Rule that raised it; NULL when posted."
    )
    subject: Mapped[str | None] = mapped_column(
        String(200), comment="What it is about, e.g. customer:12, machine:3, hospital:5 (one open alert per rule)."
    )
    hospital_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("hospitals.id"), comment="Hospital concerned (its machine's, or a metric's)."
    )
    occurrences: Mapped[int] = mapped_column(
        Integer, default=1, comment="Times the condition started holding while this alert stood (cooldown)."
    )
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(
        UTCDateTime(), comment="Last evaluation that found the condition holding."
    )
    notified_at: Mapped[dt.datetime | None] = mapped_column(
        UTCDateTime(), comment="When the last notice (raised or reminder) was queued."
    )
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), comment="When acknowledged.")
    acknowledged_by: Mapped[str | None] = mapped_column(
        String(254), comment="Who acknowledged: a recipient's address, `webhook`, `api:<key>`, `portal:<user>`."
    )
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), comment="When resolved.")


class AlertNotification(Base):
    __tablename__ = "alert_notifications"
    __table_args__ = (
        UniqueConstraint("alert_id", "event", "sequence", "channel", "target"),
        Index("ix_alert_notifications_status_next_attempt_at", "status", "next_attempt_at"),
        {"comment": "Every email and webhook call an alert causes (targets are secrets: not extracted).",
         "info": {"extract": False}},
    )  # fmt: skip

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    alert_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("alerts.id"), index=True, comment="Alert.")
    event: Mapped[str] = mapped_column(enum("alert_event", NOTIFICATION_EVENTS), comment="raised, reminder, resolved.")
    sequence: Mapped[int] = mapped_column(Integer, default=0, comment="Which reminder (0 for raised and resolved).")
    channel: Mapped[str] = mapped_column(enum("alert_channel", CHANNELS), comment="email or webhook.")
    target: Mapped[str] = mapped_column(String(2000), comment="The address or the URL.")
    status: Mapped[str] = mapped_column(
        enum("alert_notification_status", NOTIFICATION_STATES), default="pending", comment="Delivery state."
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, comment="Attempts made.")
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), comment="Not tried before then.")
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), comment="When delivered.")
    last_error: Mapped[str | None] = mapped_column(String(500), comment="Why the last attempt failed.")
