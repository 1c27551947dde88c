"""Vending of sterile medical uniform kits: hospitals, machines, products, customers, ledger, vends.

`report_contacts` and `customers.statement_email_consent` reach the warehouse (dim_report_contacts,
dim_customers), where report subscriptions' recipient queries read them (models/reporting.py).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from operational_api.models.base import Base, BigIntPK, Currency, Money, UTCDateTime, table_comment
from pulse.core.vocabulary import LOCALES

MACHINE_STATUSES = ("active", "maintenance", "offline", "retired")
CUSTOMER_STATUSES = ("active", "blocked", "closed")
CUSTOMER_ROLES = ("doctor", "nurse", "other")
ACQUISITION_CHANNELS = ("hospital_onboarding", "referral", "web", "ads", "phone", "other")
ENTRY_KINDS = ("topup", "vend", "refund", "adjustment")
ENTRY_SOURCES = ("web_portal", "phone_operator", "payroll", "machine", "admin")
TOPUP_SOURCES = ENTRY_SOURCES[:3]  # who credits a top-up (machines and admins do not)
VEND_STATUSES = ("completed", "failed", "refunded")
DECISIONS = ("approved", "declined")
DECLINE_REASONS = (
    "unknown_customer",
    "unknown_product",
    "unknown_machine",
    "bad_pin",
    "pin_locked",
    "blocked",
    "insufficient_funds",
    "out_of_stock",
    "no_price",
)


def enum(name: str, values: tuple[str, ...]) -> Enum:
    """A portable enum: VARCHAR plus a CHECK constraint (no native PostgreSQL enum type to migrate)."""
    return Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


class CommissionPlan(Base):
    __tablename__ = "commission_plans"
    __table_args__ = table_comment("Commission plans paid to hospitals; rates come from volume tiers.")

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    code: Mapped[str] = mapped_column(String(64), unique=True, comment="Stable plan code.")
    name: Mapped[str] = mapped_column(String(200), comment="Human name of the plan.")
    currency: Mapped[str] = mapped_column(Currency, comment="ISO 4217 currency of the plan.")


class CommissionTier(Base):
    __tablename__ = "commission_tiers"
    __table_args__ = (
        UniqueConstraint("plan_id", "min_monthly_kits"),
        {"comment": "Volume tiers of a commission plan: the rate applies from min_monthly_kits up."},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    plan_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("commission_plans.id"), index=True, comment="Plan this tier belongs to."
    )
    min_monthly_kits: Mapped[int] = mapped_column(
        Integer, comment="Lower bound (inclusive) of kits sold per month for this tier."
    )
    rate: Mapped[Decimal] = mapped_column(
        Numeric(6, 4), comment="Commission as a fraction of net sales, e.g. 0.0750 = 7.5%."
    )


class Hospital(Base):
    __tablename__ = "hospitals"
    __table_args__ = table_comment("Hospitals hosting vending machines (the platform's B2B clients).")

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    code: Mapped[str] = mapped_column(String(64), unique=True, comment="Stable hospital code.")
    name: Mapped[str] = mapped_column(String(300), comment="Hospital name.")
    city: Mapped[str] = mapped_column(String(120), comment="City.")
    region: Mapped[str] = mapped_column(String(120), comment="Region / federal subject.")
    time_zone: Mapped[str] = mapped_column(String(64), comment="IANA time zone, e.g. Europe/Moscow.")
    commission_plan_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("commission_plans.id"), index=True, comment="Commission plan in force."
    )


class ReportContact(Base):
    __tablename__ = "report_contacts"
    __table_args__ = table_comment("People at a hospital who receive reports (future report subscriptions).")

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    hospital_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("hospitals.id"), index=True, comment="Hospital of the contact."
    )
    name: Mapped[str] = mapped_column(String(200), comment="Contact's name.")
    email: Mapped[str] = mapped_column(String(254), comment="Email address reports go to.")
    locale: Mapped[str] = mapped_column(enum("report_locale", LOCALES), comment="Report language: en or ru.")
    role: Mapped[str | None] = mapped_column(String(120), comment="Role, e.g. chief nurse, finance.")


class Machine(Base):
    __tablename__ = "machines"
    __table_args__ = table_comment("Vending machines dispensing sterile uniform kits.")

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    serial: Mapped[str] = mapped_column(String(64), unique=True, comment="Manufacturer serial number.")
    hospital_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("hospitals.id"), index=True, comment="Hospital where it stands."
    )
    location: Mapped[str | None] = mapped_column(String(300), comment="Where in the hospital (floor, wing).")
    status: Mapped[str] = mapped_column(
        enum("machine_status", MACHINE_STATUSES), default="active", comment="Operational status."
    )
    installed_on: Mapped[dt.date | None] = mapped_column(Date, comment="Installation date.")
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(
        UTCDateTime(), comment="Last time the machine talked to the API."
    )


class Product(Base):
    __tablename__ = "products"
    __table_args__ = table_comment("Kit products (SKUs).")

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    sku: Mapped[str] = mapped_column(String(64), unique=True, comment="Stock keeping unit.")
    name: Mapped[str] = mapped_column(String(200), comment="Product name.")
    kit_type: Mapped[str] = mapped_column(String(64), comment="Kit type, e.g. surgical, scrubs, gown.")
    size: Mapped[str] = mapped_column(String(16), comment="Size, e.g. S, M, L, XL.")
    active: Mapped[bool] = mapped_column(Boolean, default=True, comment="Still sold.")


class ProductPrice(Base):
    __tablename__ = "product_prices"
    __table_args__ = (
        # One price list per currency: a product may be priced in USD and EUR from the same moment (an account
        # pays the price in its own currency).
        UniqueConstraint("product_id", "currency", "valid_from"),
        {"comment": "Price list: a product's price valid in [valid_from, valid_to)."},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    product_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("products.id"), index=True, comment="Product priced."
    )
    price: Mapped[Decimal] = mapped_column(Money, comment="Unit price.")
    currency: Mapped[str] = mapped_column(Currency, comment="ISO 4217 currency.")
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime(), comment="Start of validity (inclusive).")
    valid_to: Mapped[dt.datetime | None] = mapped_column(
        UTCDateTime(), comment="End of validity (exclusive); NULL while current."
    )


class MachineStock(Base):
    __tablename__ = "machine_stock"
    __table_args__ = (
        UniqueConstraint("machine_id", "product_id"),
        {"comment": "Kits currently loaded in a machine, per product."},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    machine_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("machines.id"), index=True, comment="Machine.")
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id"), comment="Product.")
    quantity: Mapped[int] = mapped_column(Integer, default=0, comment="Units in stock (never below 0).")


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = table_comment("Customers (doctors, nurses) holding a prepaid account.")

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    client_id: Mapped[str] = mapped_column(
        String(32), unique=True, comment="Public client ID typed at machines and printed on cards."
    )
    external_id: Mapped[str | None] = mapped_column(
        String(128), unique=True, comment="ID in an upstream system (one-way sync)."
    )
    full_name: Mapped[str] = mapped_column(String(200), comment="Full name.")
    role: Mapped[str] = mapped_column(enum("customer_role", CUSTOMER_ROLES), comment="doctor, nurse, other.")
    email: Mapped[str | None] = mapped_column(String(254), comment="Email.")
    phone: Mapped[str | None] = mapped_column(String(32), comment="Phone number.")
    locale: Mapped[str] = mapped_column(enum("customer_locale", LOCALES), default="ru", comment="Preferred language.")
    statement_email_consent: Mapped[bool] = mapped_column(
        Boolean, default=False, comment="Agreed to receive statements by email."
    )
    home_hospital_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("hospitals.id"), index=True, comment="Hospital the customer works at."
    )
    acquisition_channel: Mapped[str] = mapped_column(
        enum("acquisition_channel", ACQUISITION_CHANNELS), default="other", comment="How they came."
    )
    status: Mapped[str] = mapped_column(
        enum("customer_status", CUSTOMER_STATUSES), default="active", comment="active, blocked, closed."
    )
    # No default: every writer names the account's currency (the API fills in the business's reporting currency).
    currency: Mapped[str] = mapped_column(
        Currency, comment="ISO 4217 currency of the account: its top-ups, vends, refunds and balance are all in it."
    )
    pin_hash: Mapped[str] = mapped_column(
        String(200), comment="Salted, peppered scrypt hash of the PIN (never the PIN). Not extracted."
    )
    failed_pin_count: Mapped[int] = mapped_column(
        Integer, default=0, comment="Consecutive bad PINs since the last good one."
    )
    pin_locked_at: Mapped[dt.datetime | None] = mapped_column(
        UTCDateTime(), comment="When 5 bad PINs locked the account; NULL when not locked."
    )
    payment_token: Mapped[str | None] = mapped_column(
        String(128), comment="Opaque payment processor token for the stored card (never a card number)."
    )
    card_brand: Mapped[str | None] = mapped_column(String(32), comment="Card brand reported by processor.")
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), comment="When the account opened.")


class AccountEntry(Base):
    __tablename__ = "account_entries"
    __table_args__ = (
        Index("ix_account_entries_customer_id_occurred_at", "customer_id", "occurred_at"),
        {"comment": "Ledger of customer accounts; balance = sum(amount). Append-only."},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    entry_id: Mapped[str | None] = mapped_column(
        String(64), unique=True, comment="Client-generated ID of a top-up/refund/adjustment (idempotency)."
    )
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"), comment="Account.")
    kind: Mapped[str] = mapped_column(enum("entry_kind", ENTRY_KINDS), comment="topup, vend, refund, adjustment.")
    source: Mapped[str] = mapped_column(
        enum("entry_source", ENTRY_SOURCES),
        comment="web_portal, phone_operator (charges the stored token), payroll, machine, admin.",
    )
    amount: Mapped[Decimal] = mapped_column(Money, comment="Signed amount: credit > 0, debit < 0.")
    currency: Mapped[str] = mapped_column(Currency, comment="ISO 4217 currency.")
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), comment="When it happened (UTC).")
    vend_transaction_id: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("vend_transactions.id"), index=True, comment="Vend this debit or refund is for."
    )
    hospital_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("hospitals.id"), comment="Paying hospital for payroll top-ups."
    )
    operator_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("operators.id"), comment="Operator who charged the card by phone."
    )
    processor_ref: Mapped[str | None] = mapped_column(String(128), comment="Payment processor's charge reference.")
    note: Mapped[str | None] = mapped_column(String(500), comment="Free text (adjustments).")


class VendAuthorisation(Base):
    __tablename__ = "vend_authorisations"
    __table_args__ = (
        # The alert evaluator counts the last minutes' declines per machine every few seconds (alert rules).
        Index("ix_vend_authorisations_requested_at", "requested_at"),
        {"comment": "Every vend authorisation request and its decision (with reason)."},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    machine_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("machines.id"), index=True, comment="Requesting machine."
    )
    customer_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customers.id"), index=True, comment="Customer, when the client ID is known."
    )
    product_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("products.id"), comment="Product asked for, when known."
    )
    quantity: Mapped[int] = mapped_column(Integer, default=1, comment="Units asked for.")
    price: Mapped[Decimal | None] = mapped_column(Money, comment="Unit price quoted.")
    decision: Mapped[str] = mapped_column(enum("auth_decision", DECISIONS), comment="approved or declined.")
    reason: Mapped[str | None] = mapped_column(
        enum("decline_reason", DECLINE_REASONS), comment="Why it was declined; NULL when approved."
    )
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), comment="When the API decided.")


class VendTransaction(Base):
    __tablename__ = "vend_transactions"
    __table_args__ = (
        Index("ix_vend_transactions_machine_id_device_time", "machine_id", "device_time"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        # No customer index here on purpose: a customer's vends are reached through the ledger's
        # (customer_id, occurred_at) index (each completed vend has its debit there), and a second
        # customer-ordered index would double the pages every ingestion batch dirties.
        {"comment": "Vends reported by machines (live or uploaded later from an offline buffer)."},
    )

    id: Mapped[str] = mapped_column(
        String(64), primary_key=True, comment="Client-generated transaction ID (idempotency key)."
    )
    machine_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("machines.id"), comment="Machine.")
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"), comment="Customer.")
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id"), comment="Product.")
    authorisation_id: Mapped[int | None] = mapped_column(
        BigInteger, comment="vend_authorisations.id the machine got, if it was online."
    )
    quantity: Mapped[int] = mapped_column(Integer, comment="Units dispensed.")
    unit_price: Mapped[Decimal] = mapped_column(Money, comment="Unit price charged.")
    amount: Mapped[Decimal] = mapped_column(Money, comment="quantity * unit_price.")
    currency: Mapped[str] = mapped_column(Currency, comment="ISO 4217 currency.")
    status: Mapped[str] = mapped_column(
        enum("vend_status", VEND_STATUSES), comment="completed, failed (nothing dispensed), refunded."
    )
    device_time: Mapped[dt.datetime] = mapped_column(UTCDateTime(), comment="Machine clock at the vend.")
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), comment="When the API received it.")
    offline: Mapped[bool] = mapped_column(
        Boolean, default=False, comment="Uploaded later from the machine's offline buffer."
    )


class TopupFailure(Base):
    __tablename__ = "topup_failures"
    __table_args__ = (
        Index("ix_topup_failures_occurred_at", "occurred_at"),
        {"comment": "Top-ups that did not go through (declined card, processor error): nothing was credited."},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    attempt_id: Mapped[str] = mapped_column(
        String(64), unique=True, comment="Client-generated ID of the attempt (idempotency)."
    )
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"), index=True, comment="Account.")
    source: Mapped[str] = mapped_column(
        enum("topup_failure_source", TOPUP_SOURCES), comment="web_portal, phone_operator, payroll."
    )
    amount: Mapped[Decimal] = mapped_column(Money, comment="Amount that was not credited.")
    currency: Mapped[str] = mapped_column(Currency, comment="ISO 4217 currency.")
    reason: Mapped[str] = mapped_column(String(200), comment="Why, as the processor or the operator put it.")
    processor_ref: Mapped[str | None] = mapped_column(String(128), comment="Payment processor's reference.")
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), comment="When it failed (UTC).")
