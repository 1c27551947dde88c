"""CRM for clinics, dentistry and call centres: contacts, leads, deals, appointments, calls, messages,
marketing campaigns, counterparties, invoices, payments and FX rates.

Objects synced one-way from another system carry a unique `external_id` (upsert key).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from operational_api.models.base import (
    Base,
    BigIntPK,
    Currency,
    JSONDoc,
    Money,
    Rate,
    UTCDateTime,
    table_comment,
)
from operational_api.models.vending import enum

LEAD_STATUSES = ("new", "in_progress", "qualified", "converted", "lost")
DEAL_STATUSES = ("open", "won", "lost")
VISIT_TYPES = ("primary", "repeat")
APPOINTMENT_STATUSES = ("booked", "confirmed", "attended", "cancelled", "no_show", "rescheduled")
CALL_DIRECTIONS = ("inbound", "outbound")
CALL_OUTCOMES = ("answered", "missed", "busy", "voicemail", "failed", "booked", "callback")
MESSAGE_CHANNELS = ("sms", "whatsapp", "telegram", "email", "voice", "push")
MESSAGE_STATUSES = ("queued", "sent", "delivered", "read", "confirmed", "failed")
# What a message is for, whatever its template is called: clinics report reminders by purpose. A booking
# confirmation and the day-before reminder ask the patient to confirm by reply; an NPS survey collects a 0-10 score.
MESSAGE_PURPOSES = (
    "booking_confirmation", "day_before_reminder", "same_day_notice", "birthday", "nps_survey", "marketing", "other",
)  # fmt: skip
COUNTERPARTY_KINDS = ("insurer", "assistance", "partner_clinic", "other")
INVOICE_STATUSES = ("draft", "issued", "partially_paid", "paid", "cancelled")
# receivable: the company bills the counterparty (insurers, assistance companies); payable: the counterparty bills
# the company (a partner clinic that treated its patients). Payments follow their invoice's direction.
INVOICE_DIRECTIONS = ("receivable", "payable")
# Why an insurer refused to pay (part of) a receivable invoice.
REFUSAL_REASONS = (
    "not_covered", "no_referral", "missing_documents", "coding_error", "policy_expired", "duplicate", "price_dispute",
    "other",
)  # fmt: skip
# The sales funnel's steps, in order; each pipeline stage says which one it stands for (its codes and names are the
# CRM's own), and the funnel marts count steps, never stage codes.
FUNNEL_STEPS = ("lead", "contacted", "booked", "attended", "paid", "lost")


def funnel_step_conflict(funnel_step: str | None, *, is_won: bool | None, is_lost: bool | None) -> str | None:
    """Why a stage's funnel step contradicts its outcome flags (a won stage is `paid`, a lost one `lost`), or None."""
    if is_won and funnel_step != "paid":
        return f"a stage that wins the deal (is_won) is the 'paid' funnel step, not {funnel_step!r}"
    if is_lost and funnel_step != "lost":
        return f"a stage that loses the deal (is_lost) is the 'lost' funnel step, not {funnel_step!r}"
    return None


def external_id_column() -> Mapped[str | None]:
    return mapped_column(String(128), unique=True, comment="ID in the source system (one-way sync key).")


class Operator(Base):
    __tablename__ = "operators"
    __table_args__ = table_comment("Call-centre and front-desk operators (and robots).")

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    external_id: Mapped[str | None] = external_id_column()
    name: Mapped[str] = mapped_column(String(200), comment="Operator's name.")
    email: Mapped[str | None] = mapped_column(String(254), comment="Work email.")
    team: Mapped[str | None] = mapped_column(String(120), comment="Team or shift.")
    is_robot: Mapped[bool] = mapped_column(Boolean, default=False, comment="A voice robot, not a person.")
    active: Mapped[bool] = mapped_column(Boolean, default=True, comment="Still working.")


class Branch(Base):
    __tablename__ = "branches"
    __table_args__ = table_comment("Clinic branches where appointments happen.")

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    external_id: Mapped[str | None] = external_id_column()
    name: Mapped[str] = mapped_column(String(200), comment="Branch name.")
    city: Mapped[str | None] = mapped_column(String(120), comment="City.")
    address: Mapped[str | None] = mapped_column(String(300), comment="Street address.")
    time_zone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow", comment="IANA time zone.")


class Doctor(Base):
    __tablename__ = "doctors"
    __table_args__ = table_comment("Doctors seeing patients in appointments.")

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    external_id: Mapped[str | None] = external_id_column()
    name: Mapped[str] = mapped_column(String(200), comment="Doctor's name.")
    specialty: Mapped[str | None] = mapped_column(String(120), comment="Specialty, e.g. orthodontist.")
    branch_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("branches.id"), index=True, comment="Main branch."
    )


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = table_comment("Patients / clients; external_id is the medical information system ID.")

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    external_id: Mapped[str | None] = external_id_column()
    full_name: Mapped[str] = mapped_column(String(200), comment="Full name.")
    phone: Mapped[str | None] = mapped_column(String(32), index=True, comment="Phone number.")
    email: Mapped[str | None] = mapped_column(String(254), comment="Email.")
    birth_date: Mapped[dt.date | None] = mapped_column(Date, comment="Date of birth.")
    gender: Mapped[str | None] = mapped_column(String(16), comment="Gender as recorded.")
    city: Mapped[str | None] = mapped_column(String(120), comment="City.")
    source: Mapped[str | None] = mapped_column(String(64), comment="First acquisition source.")
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False, comment="Agreed to marketing messages.")


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = table_comment("Marketing campaigns (UTM-tagged).")

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    external_id: Mapped[str | None] = external_id_column()
    name: Mapped[str] = mapped_column(String(200), comment="Campaign name.")
    channel: Mapped[str] = mapped_column(String(64), comment="Ad channel, e.g. yandex_direct, vk, seo.")
    utm_source: Mapped[str | None] = mapped_column(String(128), comment="utm_source.")
    utm_medium: Mapped[str | None] = mapped_column(String(128), comment="utm_medium.")
    utm_campaign: Mapped[str | None] = mapped_column(String(128), index=True, comment="utm_campaign.")
    starts_on: Mapped[dt.date | None] = mapped_column(Date, comment="First day.")
    ends_on: Mapped[dt.date | None] = mapped_column(Date, comment="Last day.")
    budget: Mapped[Decimal | None] = mapped_column(Money, comment="Planned budget.")
    currency: Mapped[str] = mapped_column(Currency, comment="ISO 4217 currency.")


class AdSpend(Base):
    __tablename__ = "ad_spend"
    __table_args__ = (
        UniqueConstraint("campaign_id", "day"),
        {"comment": "Daily advertising spend of a campaign."},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    campaign_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("campaigns.id"), comment="Campaign.")
    day: Mapped[dt.date] = mapped_column(Date, comment="Day of spend.")
    amount: Mapped[Decimal] = mapped_column(Money, comment="Spend that day.")
    currency: Mapped[str] = mapped_column(Currency, comment="ISO 4217 currency.")
    impressions: Mapped[int | None] = mapped_column(BigInteger, comment="Impressions.")
    clicks: Mapped[int | None] = mapped_column(BigInteger, comment="Clicks.")


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = table_comment("Leads: requests from prospective patients.")

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    external_id: Mapped[str | None] = external_id_column()
    contact_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("contacts.id"), index=True, comment="Contact, once identified."
    )
    channel: Mapped[str] = mapped_column(String(64), comment="Channel: call, web_form, chat, walk_in, ...")
    campaign_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("campaigns.id"), index=True, comment="Attributed campaign."
    )
    utm_source: Mapped[str | None] = mapped_column(String(128), comment="utm_source.")
    utm_medium: Mapped[str | None] = mapped_column(String(128), comment="utm_medium.")
    utm_campaign: Mapped[str | None] = mapped_column(String(128), comment="utm_campaign.")
    utm_content: Mapped[str | None] = mapped_column(String(128), comment="utm_content.")
    utm_term: Mapped[str | None] = mapped_column(String(128), comment="utm_term.")
    service_of_interest: Mapped[str | None] = mapped_column(String(200), comment="Service asked about.")
    status: Mapped[str] = mapped_column(
        enum("lead_status", LEAD_STATUSES), default="new", comment="new, in_progress, ..., lost."
    )
    lost_reason: Mapped[str | None] = mapped_column(String(200), comment="Why it was lost.")
    assigned_operator_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("operators.id"), index=True, comment="Operator handling it."
    )
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), comment="When the lead came in.")


class Pipeline(Base):
    __tablename__ = "pipelines"
    __table_args__ = table_comment("Sales pipelines.")

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    code: Mapped[str] = mapped_column(String(64), unique=True, comment="Stable code.")
    name: Mapped[str] = mapped_column(String(200), comment="Name.")


class PipelineStage(Base):
    __tablename__ = "pipeline_stages"
    __table_args__ = (
        UniqueConstraint("pipeline_id", "code"),
        {"comment": "Ordered stages of a pipeline."},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    pipeline_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("pipelines.id"), comment="Pipeline.")
    code: Mapped[str] = mapped_column(String(64), comment="Stage code, unique in its pipeline.")
    name: Mapped[str] = mapped_column(String(200), comment="Name.")
    position: Mapped[int] = mapped_column(Integer, comment="Order within the pipeline (ascending).")
    is_won: Mapped[bool] = mapped_column(Boolean, default=False, comment="Reaching it wins the deal.")
    is_lost: Mapped[bool] = mapped_column(Boolean, default=False, comment="Reaching it loses the deal.")
    funnel_step: Mapped[str] = mapped_column(
        enum("funnel_step", FUNNEL_STEPS),
        comment="Funnel step the stage stands for: lead, contacted, booked, attended, paid (is_won), lost (is_lost).",
    )


class Deal(Base):
    __tablename__ = "deals"
    __table_args__ = table_comment("Deals moving through pipeline stages.")

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    external_id: Mapped[str | None] = external_id_column()
    pipeline_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("pipelines.id"), comment="Pipeline.")
    stage_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("pipeline_stages.id"), index=True, comment="Current stage."
    )
    contact_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("contacts.id"), index=True, comment="Contact."
    )
    lead_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("leads.id"), comment="Source lead.")
    operator_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("operators.id"), comment="Responsible operator."
    )
    title: Mapped[str] = mapped_column(String(300), comment="Title.")
    amount: Mapped[Decimal | None] = mapped_column(Money, comment="Expected value.")
    currency: Mapped[str] = mapped_column(Currency, comment="ISO 4217 currency.")
    status: Mapped[str] = mapped_column(enum("deal_status", DEAL_STATUSES), default="open", comment="open, won, lost.")
    stage_changed_at: Mapped[dt.datetime | None] = mapped_column(
        UTCDateTime(), comment="When it entered its current stage."
    )
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), comment="When won or lost.")


class DealStageHistory(Base):
    __tablename__ = "deal_stage_history"
    __table_args__ = (
        Index("ix_deal_stage_history_deal_id_changed_at", "deal_id", "changed_at"),
        {"comment": "Append-only history of deal stage moves (first row: entry into the pipeline)."},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    deal_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("deals.id"), comment="Deal.")
    from_stage_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("pipeline_stages.id"), comment="Previous stage; NULL on creation."
    )
    to_stage_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("pipeline_stages.id"), comment="New stage.")
    operator_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("operators.id"), comment="Who moved it.")
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), comment="When it moved.")
    comment: Mapped[str | None] = mapped_column(String(500), comment="Why.")


class Counterparty(Base):
    __tablename__ = "counterparties"
    __table_args__ = table_comment("Insurers, assistance companies, partner clinics.")

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    external_id: Mapped[str | None] = external_id_column()
    name: Mapped[str] = mapped_column(String(300), comment="Legal name.")
    kind: Mapped[str] = mapped_column(
        enum("counterparty_kind", COUNTERPARTY_KINDS), comment="insurer, assistance, partner_clinic, other."
    )
    country: Mapped[str | None] = mapped_column(String(2), comment="ISO 3166 country code.")
    currency: Mapped[str] = mapped_column(Currency, comment="Default invoicing currency.")


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_branch_id_scheduled_at", "branch_id", "scheduled_at"),
        {"comment": "Appointments (visits) of contacts with doctors."},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    external_id: Mapped[str | None] = external_id_column()
    contact_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("contacts.id"), index=True, comment="Patient.")
    deal_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("deals.id"), comment="Deal.")
    lead_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("leads.id"), comment="Lead.")
    branch_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("branches.id"), comment="Branch.")
    doctor_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("doctors.id"), comment="Doctor.")
    service: Mapped[str | None] = mapped_column(String(200), comment="Service booked.")
    visit_type: Mapped[str] = mapped_column(enum("visit_type", VISIT_TYPES), comment="primary or repeat.")
    status: Mapped[str] = mapped_column(
        enum("appointment_status", APPOINTMENT_STATUSES),
        default="booked",
        comment="booked, confirmed, attended, cancelled, no_show, rescheduled.",
    )
    scheduled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), comment="Start time.")
    duration_minutes: Mapped[int | None] = mapped_column(Integer, comment="Planned length.")
    price: Mapped[Decimal | None] = mapped_column(Money, comment="Price of the visit.")
    currency: Mapped[str] = mapped_column(Currency, comment="ISO 4217 currency.")
    insurance_policy: Mapped[bool] = mapped_column(Boolean, default=False, comment="Paid under an insurance policy.")
    insurer_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("counterparties.id"), comment="Insurer paying, when insured."
    )
    rescheduled_from_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("appointments.id"), comment="Appointment this one replaces."
    )


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_started_at", "started_at"),
        {"comment": "Phone calls handled by operators or robots."},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    external_id: Mapped[str | None] = external_id_column()
    direction: Mapped[str] = mapped_column(enum("call_direction", CALL_DIRECTIONS), comment="inbound or outbound.")
    operator_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("operators.id"), index=True, comment="Operator."
    )
    contact_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("contacts.id"), index=True, comment="Contact."
    )
    lead_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("leads.id"), comment="Lead.")
    deal_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("deals.id"), comment="Deal.")
    phone: Mapped[str | None] = mapped_column(String(32), comment="Other party's number.")
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), comment="Ringing started.")
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), comment="Answered.")
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), comment="Hung up.")
    duration_seconds: Mapped[int] = mapped_column(Integer, default=0, comment="Talk time in seconds.")
    outcome: Mapped[str] = mapped_column(enum("call_outcome", CALL_OUTCOMES), comment="Outcome.")
    recording_url: Mapped[str | None] = mapped_column(String(1000), comment="Recording location.")
    is_robot: Mapped[bool] = mapped_column(Boolean, default=False, comment="Handled by a voice robot.")
    script_answers: Mapped[dict[str, Any] | None] = mapped_column(
        JSONDoc, comment="Answers to the call script, as JSON."
    )


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = table_comment("Messages and reminders sent to contacts.")

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    external_id: Mapped[str | None] = external_id_column()
    contact_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("contacts.id"), index=True, comment="Recipient.")
    appointment_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("appointments.id"), comment="Appointment reminded of."
    )
    channel: Mapped[str] = mapped_column(enum("message_channel", MESSAGE_CHANNELS), comment="Channel.")
    template: Mapped[str] = mapped_column(String(128), comment="Template code.")
    status: Mapped[str] = mapped_column(
        enum("message_status", MESSAGE_STATUSES), default="queued", comment="Delivery status."
    )
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), comment="Sent.")
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), comment="Delivered.")
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), comment="Read.")
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(
        UTCDateTime(), comment="Recipient confirmed (e.g. the appointment)."
    )
    purpose: Mapped[str] = mapped_column(
        enum("message_purpose", MESSAGE_PURPOSES), default="other", comment="What the message is for."
    )
    nps_score: Mapped[int | None] = mapped_column(
        SmallInteger,
        CheckConstraint("nps_score BETWEEN 0 AND 10", name="nps_score"),
        comment="The recipient's answer to an NPS survey, 0-10.",
    )


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = table_comment("Invoices issued to counterparties, in any currency.")

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    external_id: Mapped[str | None] = external_id_column()
    number: Mapped[str] = mapped_column(String(64), comment="Invoice number.")
    counterparty_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("counterparties.id"), index=True, comment="Billed counterparty."
    )
    issued_on: Mapped[dt.date] = mapped_column(Date, comment="Issue date.")
    due_on: Mapped[dt.date | None] = mapped_column(Date, comment="Due date.")
    amount: Mapped[Decimal] = mapped_column(Money, comment="Total amount.")
    currency: Mapped[str] = mapped_column(Currency, comment="ISO 4217 currency.")
    status: Mapped[str] = mapped_column(enum("invoice_status", INVOICE_STATUSES), default="issued", comment="Status.")
    direction: Mapped[str] = mapped_column(
        enum("invoice_direction", INVOICE_DIRECTIONS),
        default="receivable",
        comment="receivable (the company bills the counterparty) or payable (the counterparty bills the company).",
    )


class InvoiceRefusal(Base):
    __tablename__ = "invoice_refusals"
    __table_args__ = table_comment("Amounts of receivable invoices an insurer refused to pay, with the reason.")

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    external_id: Mapped[str | None] = external_id_column()
    invoice_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("invoices.id"), index=True, comment="Invoice refused (in part)."
    )
    refused_on: Mapped[dt.date] = mapped_column(Date, comment="When the refusal was received.")
    amount: Mapped[Decimal] = mapped_column(Money, comment="Amount refused, in the invoice's currency.")
    currency: Mapped[str] = mapped_column(Currency, comment="ISO 4217 currency (the invoice's).")
    reason: Mapped[str] = mapped_column(enum("refusal_reason", REFUSAL_REASONS), comment="Why it was refused.")
    comment: Mapped[str | None] = mapped_column(String(500), comment="The insurer's wording.")


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = table_comment("Payments received from (receivable invoices) or made to (payable) counterparties.")

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    external_id: Mapped[str | None] = external_id_column()
    invoice_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("invoices.id"), index=True, comment="Invoice paid."
    )
    counterparty_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("counterparties.id"), comment="Payer, or payee of a payable."
    )
    paid_on: Mapped[dt.date] = mapped_column(Date, comment="Value date.")
    amount: Mapped[Decimal] = mapped_column(Money, comment="Amount paid.")
    currency: Mapped[str] = mapped_column(Currency, comment="ISO 4217 currency.")


class FxRate(Base):
    __tablename__ = "fx_rates"
    __table_args__ = (
        UniqueConstraint("day", "base_currency", "quote_currency"),
        {"comment": "Daily FX rates: 1 base = rate quote."},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    day: Mapped[dt.date] = mapped_column(Date, comment="Rate date.")
    base_currency: Mapped[str] = mapped_column(Currency, comment="ISO 4217 base currency.")
    quote_currency: Mapped[str] = mapped_column(Currency, comment="ISO 4217 quote currency.")
    rate: Mapped[Decimal] = mapped_column(Rate, comment="Units of quote per one base.")
    source: Mapped[str | None] = mapped_column(String(64), comment="Where the rate came from.")
