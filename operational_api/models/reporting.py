"""Report subscriptions, their delivery ledger and unsubscribes (internal tables, not extracted).

A subscription is data-driven: its recipient query runs read-only on the warehouse and returns one row
per recipient (email, locale, optional name, and the report's parameters). Every statement sent is one
row of `report_deliveries`, unique per (subscription, email, period, parameters): the row is claimed
(`sending`) before the SMTP transaction and marked `sent` after it, so a retry, a rerun or two runs at
once never send the same statement twice (see reports/ledger.py for the states).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from operational_api.models.base import Base, BigIntPK, JSONDoc, UTCDateTime, table_comment
from operational_api.models.vending import enum
from pulse.core.report_kinds import REPORT_KINDS
from pulse.core.vocabulary import LOCALES

REPORT_FORMATS = ("pdf",)
# The statement's tables as extra attachments beside its PDF.
ATTACHMENT_FORMATS = ("csv", "xlsx")
# pending: planned, never tried; sending: claimed by a sender, outcome not recorded yet; sent: the SMTP
# server accepted it; failed: refused or unreachable (retried at next_attempt_at; NULL = for good);
# skipped: not sent on purpose (unsubscribed); in_doubt: the connection broke after the message was
# handed over, or the sender died mid-send: never retried automatically (at most once).
DELIVERY_STATES = ("pending", "sending", "sent", "failed", "skipped", "in_doubt")


class ReportSubscription(Base):
    __tablename__ = "report_subscriptions"
    __table_args__ = table_comment(
        "Data-driven report subscriptions: report kind, schedule and a recipient query.", extract=False
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    name: Mapped[str] = mapped_column(String(200), unique=True, comment="Unique name, used by the CLI.")
    description: Mapped[str | None] = mapped_column(String(1000), comment="What it is for.")
    report_kind: Mapped[str] = mapped_column(enum("report_kind", REPORT_KINDS), comment="Which report.")
    cron: Mapped[str] = mapped_column(String(120), comment="Five-field cron expression of the schedule.")
    time_zone: Mapped[str] = mapped_column(String(64), comment="IANA time zone the cron is evaluated in.")
    format: Mapped[str] = mapped_column(enum("report_format", REPORT_FORMATS), default="pdf", comment="pdf.")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, comment="Disabled subscriptions never fire.")
    recipient_query: Mapped[str] = mapped_column(
        Text,
        comment="Warehouse SELECT run as the read-only user: one row per recipient (email, locale, "
        "optional name, the report's parameters).",
    )
    last_fired_at: Mapped[dt.datetime | None] = mapped_column(
        UTCDateTime(), comment="Latest schedule fire time whose deliveries were planned (UTC)."
    )
    attachments: Mapped[list[str]] = mapped_column(
        JSONDoc, default=list, comment="Besides the PDF, its tables as: csv, xlsx (a JSON list, may be empty)."
    )
    audience: Mapped[dict[str, Any] | None] = mapped_column(
        JSONDoc,
        comment="The audience preset the recipient query was written from, and its choices (NULL: written by hand).",
    )


class ReportDelivery(Base):
    __tablename__ = "report_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "email", "period", "params_sha256"),
        Index("ix_report_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
        {
            "comment": "Delivery ledger: one row per statement (subscription, recipient, period, parameters).",
            "info": {"extract": False},
        },
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    subscription_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("report_subscriptions.id"), index=True, comment="Subscription."
    )
    email: Mapped[str] = mapped_column(String(254), comment="Recipient address, lower-cased.")
    period: Mapped[str] = mapped_column(String(16), comment="Reported period: YYYY-MM or YYYY-Www.")
    params: Mapped[dict[str, Any]] = mapped_column(JSONDoc, comment="Report parameters (strings).")
    params_sha256: Mapped[str] = mapped_column(
        String(64), comment="hex SHA-256 of the canonical parameters (part of the unique key)."
    )
    locale: Mapped[str] = mapped_column(String(8), comment="Report language (en or ru).")
    recipient_name: Mapped[str | None] = mapped_column(String(200), comment="Recipient's display name.")
    state: Mapped[str] = mapped_column(
        enum("delivery_state", DELIVERY_STATES), default="pending", comment=", ".join(DELIVERY_STATES) + "."
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, comment="Send attempts so far.")
    last_error: Mapped[str | None] = mapped_column(String(2000), comment="Why the last attempt failed.")
    message_id: Mapped[str | None] = mapped_column(
        String(255), comment="Message-ID header (derived from subscription, recipient, period)."
    )
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(
        UTCDateTime(), comment="When a failed delivery is retried; NULL when it is not."
    )
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), comment="When the last send began.")
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), comment="When the server accepted it.")
    run_id: Mapped[str | None] = mapped_column(String(250), comment="The run that last planned or tried it.")


class ReportUnsubscribe(Base):
    __tablename__ = "report_unsubscribes"
    __table_args__ = (
        UniqueConstraint("subscription_id", "email"),
        {
            "comment": "Recipients who followed an unsubscribe link: they get nothing more from it.",
            "info": {"extract": False},
        },
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    subscription_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("report_subscriptions.id"), index=True, comment="Subscription."
    )
    email: Mapped[str] = mapped_column(String(254), comment="Address, lower-cased.")


__all__ = [
    "ATTACHMENT_FORMATS",
    "DELIVERY_STATES",
    "LOCALES",
    "REPORT_FORMATS",
    "REPORT_KINDS",
    "ReportDelivery",
    "ReportSubscription",
    "ReportUnsubscribe",
]
