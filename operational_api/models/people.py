"""People Pulse reports to who are not hospitals' own contacts: sales reps and their territories (extracted:
the warehouse builds each rep's statement and Superset's territory filter from them), and the staff who sign in to
the portal (internal, not extracted).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from operational_api.models.base import Base, BigIntPK, UTCDateTime, table_comment
from operational_api.models.vending import enum
from pulse.core.vocabulary import LOCALES

SALES_REP_STATUSES = ("active", "inactive")
# admin: everything, people included; report_manager: subscriptions, previews, sends, the ledger;
# sales_rep: their own territory's statements only.
PORTAL_ROLES = ("admin", "report_manager", "sales_rep")


class SalesRep(Base):
    __tablename__ = "sales_reps"
    __table_args__ = table_comment("Sales representatives; each looks after a territory of hospitals.")

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    name: Mapped[str] = mapped_column(String(200), comment="Full name.")
    email: Mapped[str] = mapped_column(String(254), unique=True, comment="Work address (statements go there).")
    locale: Mapped[str] = mapped_column(enum("sales_rep_locale", LOCALES), comment="Statement language: en or ru.")
    status: Mapped[str] = mapped_column(
        enum("sales_rep_status", SALES_REP_STATUSES), default="active", comment="active or inactive."
    )


class SalesRepTerritory(Base):
    __tablename__ = "sales_rep_territories"
    __table_args__ = (
        UniqueConstraint("sales_rep_id", "hospital_id"),
        {"comment": "Which hospitals (and so their machines) a sales rep looks after."},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    sales_rep_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("sales_reps.id"), index=True, comment="Sales rep.")
    hospital_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("hospitals.id"), index=True, comment="Hospital in the territory."
    )


class PortalUser(Base):
    __tablename__ = "portal_users"
    __table_args__ = table_comment(
        "Staff who sign in to the portal; only a scrypt hash of the password.", extract=False
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    email: Mapped[str] = mapped_column(String(254), unique=True, comment="Sign-in address, lower-cased.")
    name: Mapped[str] = mapped_column(String(200), comment="Display name.")
    role: Mapped[str] = mapped_column(enum("portal_role", PORTAL_ROLES), comment="admin, report_manager, sales_rep.")
    sales_rep_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("sales_reps.id"), comment="A sales_rep user's own record; NULL for other roles."
    )
    locale: Mapped[str] = mapped_column(enum("portal_locale", LOCALES), comment="Portal language: en or ru.")
    password_hash: Mapped[str] = mapped_column(String(300), comment="scrypt$n$r$p$salt$hash (never the password).")
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), comment="Last successful sign-in.")


class PortalSession(Base):
    __tablename__ = "portal_sessions"
    __table_args__ = table_comment("Signed-in portal sessions; only the SHA-256 of the cookie.", extract=False)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("portal_users.id"), index=True, comment="Who.")
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True, comment="hex SHA-256 of the session cookie.")
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), comment="Absolute expiry.")
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), comment="Last request (idle expiry).")


class SignInThrottle(Base):
    __tablename__ = "portal_sign_in_throttle"
    __table_args__ = table_comment(
        "Failed sign-ins per account and per client address, to refuse guessing.", extract=False
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    key: Mapped[str] = mapped_column(String(300), unique=True, comment="account:<email> or address:<ip>.")
    failures: Mapped[int] = mapped_column(default=0, comment="Failures since window_started_at.")
    window_started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), comment="First failure of the window.")
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), comment="Refused until then.")


class RecipientPreference(Base):
    __tablename__ = "report_recipient_preferences"
    __table_args__ = table_comment(
        "What a report recipient chose on their own page (the language of their statements).", extract=False
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    email: Mapped[str] = mapped_column(String(254), unique=True, comment="Recipient address, lower-cased.")
    locale: Mapped[str | None] = mapped_column(
        enum("preferred_locale", LOCALES), comment="Statements in this language, whatever the query says."
    )
