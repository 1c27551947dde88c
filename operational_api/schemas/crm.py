"""Request and response bodies of the CRM domain."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from operational_api.models.crm import (
    APPOINTMENT_STATUSES,
    CALL_DIRECTIONS,
    CALL_OUTCOMES,
    COUNTERPARTY_KINDS,
    DEAL_STATUSES,
    FUNNEL_STEPS,
    INVOICE_DIRECTIONS,
    INVOICE_STATUSES,
    LEAD_STATUSES,
    MESSAGE_CHANNELS,
    MESSAGE_PURPOSES,
    MESSAGE_STATUSES,
    REFUSAL_REASONS,
    VISIT_TYPES,
    funnel_step_conflict,
)
from operational_api.schemas.common import (
    BUSINESS_CURRENCY,
    MAX_BATCH,
    Amount,
    BigCount,
    Code,
    Count,
    Currency,
    Day,
    Email,
    ExternalId,
    FxRateValue,
    Id,
    In,
    JsonDoc,
    Name,
    NonNegativeAmount,
    Phone,
    Short,
    Stored,
    Str64,
    Str120,
    Str128,
    Str200,
    Str300,
    Str500,
    Timestamp,
    TimeZone,
    Url,
)

# The store's enums (operational_api/models), so a value the database refuses is refused at the API.
DealStatus = Literal[DEAL_STATUSES]  # type: ignore[valid-type]
CounterpartyKind = Literal[COUNTERPARTY_KINDS]  # type: ignore[valid-type]
VisitType = Literal[VISIT_TYPES]  # type: ignore[valid-type]
AppointmentStatus = Literal[APPOINTMENT_STATUSES]  # type: ignore[valid-type]
CallDirection = Literal[CALL_DIRECTIONS]  # type: ignore[valid-type]
CallOutcome = Literal[CALL_OUTCOMES]  # type: ignore[valid-type]
MessageChannel = Literal[MESSAGE_CHANNELS]  # type: ignore[valid-type]
MessageStatus = Literal[MESSAGE_STATUSES]  # type: ignore[valid-type]
MessagePurpose = Literal[MESSAGE_PURPOSES]  # type: ignore[valid-type]
InvoiceStatus = Literal[INVOICE_STATUSES]  # type: ignore[valid-type]
InvoiceDirection = Literal[INVOICE_DIRECTIONS]  # type: ignore[valid-type]
RefusalReason = Literal[REFUSAL_REASONS]  # type: ignore[valid-type]
FunnelStep = Literal[FUNNEL_STEPS]  # type: ignore[valid-type]


def field_error(field: str, error_type: str, message: str, value: object) -> ValidationError:
    """A validation error located at `field`, for a model validator that judges several fields but blames one
    (a plain ValueError there would be located at the whole body)."""
    error = InitErrorDetails(type=PydanticCustomError(error_type, message), loc=(field,), input=value)
    return ValidationError.from_exception_data(field, [error])


class OperatorIn(In):
    external_id: ExternalId | None = None
    name: Name
    email: Email | None = None
    team: Str120 | None = None
    is_robot: bool = False
    active: bool = True


class OperatorOut(OperatorIn, Stored):
    pass


class BranchIn(In):
    external_id: ExternalId | None = None
    name: Name
    city: Str120 | None = None
    address: Str300 | None = None
    time_zone: TimeZone = "Europe/Moscow"


class BranchOut(BranchIn, Stored):
    pass


class DoctorIn(In):
    external_id: ExternalId | None = None
    name: Name
    specialty: Str120 | None = None
    branch_id: Id | None = None


class DoctorOut(DoctorIn, Stored):
    pass


class ContactIn(In):
    external_id: ExternalId | None = Field(default=None, description="Medical information system ID.")
    full_name: Name
    phone: Phone | None = None
    email: Email | None = None
    birth_date: Day | None = None
    gender: Literal["female", "male", "other", "unknown"] | None = None
    city: Str120 | None = None
    source: Str64 | None = None
    marketing_consent: bool = False


class ContactOut(ContactIn, Stored):
    pass


class CampaignIn(In):
    external_id: ExternalId | None = None
    name: Name
    channel: Short
    utm_source: Str128 | None = None
    utm_medium: Str128 | None = None
    utm_campaign: Str128 | None = None
    starts_on: Day | None = None
    ends_on: Day | None = None
    budget: NonNegativeAmount | None = None
    currency: Currency | None = Field(default=None, description=BUSINESS_CURRENCY)


class CampaignOut(CampaignIn, Stored):
    currency: str


class AdSpendIn(In):
    campaign_id: Id
    day: Day
    amount: NonNegativeAmount
    currency: Currency | None = Field(default=None, description=BUSINESS_CURRENCY)
    impressions: BigCount | None = None
    clicks: BigCount | None = None


class AdSpendOut(AdSpendIn, Stored):
    currency: str


LeadStatus = Literal[LEAD_STATUSES]  # type: ignore[valid-type]


class LeadIn(In):
    external_id: ExternalId | None = None
    contact_id: Id | None = None
    channel: Short = Field(description="call, web_form, chat, walk_in, ...")
    campaign_id: Id | None = None
    utm_source: Str128 | None = None
    utm_medium: Str128 | None = None
    utm_campaign: Str128 | None = None
    utm_content: Str128 | None = None
    utm_term: Str128 | None = None
    service_of_interest: Str200 | None = None
    status: LeadStatus = "new"
    lost_reason: Str200 | None = None
    assigned_operator_id: Id | None = None
    received_at: Timestamp


class LeadOut(LeadIn, Stored):
    pass


class PipelineIn(In):
    code: Code
    name: Name


class PipelineOut(PipelineIn, Stored):
    pass


class PipelineStageBase(In):
    pipeline_id: Id
    code: Code
    name: Name
    position: Count
    is_won: bool = False
    is_lost: bool = False
    funnel_step: FunnelStep = Field(
        description="The sales funnel step this stage stands for, whatever its code and name: lead, contacted, "
        "booked, attended, paid, lost. A stage that wins the deal (is_won) is `paid`, one that loses it (is_lost) "
        "`lost`. The funnel marts count steps, not stage codes."
    )


class PipelineStageIn(PipelineStageBase):
    @model_validator(mode="after")
    def _step_matches_outcome(self) -> Self:
        problem = funnel_step_conflict(self.funnel_step, is_won=self.is_won, is_lost=self.is_lost)
        if problem is not None:
            raise field_error("funnel_step", "funnel_step_mismatch", problem, self.funnel_step)
        return self


class PipelineStageOut(PipelineStageBase, Stored):
    pass  # no validator: a stored row is shown as it is


class DealIn(In):
    external_id: ExternalId | None = None
    pipeline_id: Id
    stage_id: Id = Field(description="Stage to enter (written to the stage history).")
    contact_id: Id | None = None
    lead_id: Id | None = None
    operator_id: Id | None = None
    title: Str300 = Field(min_length=1)
    amount: NonNegativeAmount | None = None
    currency: Currency | None = Field(default=None, description=BUSINESS_CURRENCY)


class DealOut(DealIn, Stored):
    currency: str
    status: DealStatus
    stage_changed_at: Timestamp | None
    closed_at: Timestamp | None


class StageMoveIn(In):
    stage_id: Id
    operator_id: Id | None = None
    changed_at: Timestamp | None = Field(default=None, description="Default: now.")
    comment: Str500 | None = None


class DealStageHistoryOut(Stored):
    deal_id: int
    from_stage_id: int | None
    to_stage_id: int
    operator_id: int | None
    changed_at: Timestamp
    comment: str | None


class CounterpartyIn(In):
    external_id: ExternalId | None = None
    name: Str300 = Field(min_length=1)
    kind: CounterpartyKind
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    currency: Currency | None = Field(default=None, description=BUSINESS_CURRENCY)


class CounterpartyOut(CounterpartyIn, Stored):
    currency: str


class AppointmentIn(In):
    external_id: ExternalId | None = None
    contact_id: Id
    deal_id: Id | None = None
    lead_id: Id | None = None
    branch_id: Id
    doctor_id: Id | None = None
    service: Str200 | None = None
    visit_type: VisitType
    status: AppointmentStatus = "booked"
    scheduled_at: Timestamp
    duration_minutes: Count | None = None
    price: NonNegativeAmount | None = None
    currency: Currency | None = Field(default=None, description=BUSINESS_CURRENCY)
    insurance_policy: bool = False
    insurer_id: Id | None = None
    rescheduled_from_id: Id | None = None


class AppointmentOut(AppointmentIn, Stored):
    currency: str


class CallIn(In):
    external_id: ExternalId | None = Field(default=None, description="Telephony call ID (idempotency).")
    direction: CallDirection
    operator_id: Id | None = None
    contact_id: Id | None = None
    lead_id: Id | None = None
    deal_id: Id | None = None
    phone: Phone | None = None
    started_at: Timestamp
    answered_at: Timestamp | None = None
    ended_at: Timestamp | None = None
    duration_seconds: Count = 0
    outcome: CallOutcome
    recording_url: Url | None = None
    is_robot: bool = False
    script_answers: JsonDoc | None = Field(default=None, description="Call-script answers.")


class CallOut(CallIn, Stored):
    pass


class CallBatchItem(CallIn):
    external_id: ExternalId = Field(description="Telephony call ID: retries with it are no-ops.")


class CallBatchIn(In):
    items: list[CallBatchItem] = Field(min_length=1, max_length=MAX_BATCH)


class MessageIn(In):
    external_id: ExternalId | None = None
    contact_id: Id
    appointment_id: Id | None = None
    channel: MessageChannel
    template: Str128 = Field(min_length=1)
    status: MessageStatus = "queued"
    sent_at: Timestamp | None = None
    delivered_at: Timestamp | None = None
    read_at: Timestamp | None = None
    confirmed_at: Timestamp | None = None
    purpose: MessagePurpose = "other"
    nps_score: int | None = Field(
        default=None, ge=0, le=10, description="The answer to an NPS survey (purpose nps_survey only), 0-10."
    )


class MessageOut(MessageIn, Stored):
    pass


class InvoiceIn(In):
    external_id: ExternalId | None = None
    number: Short
    counterparty_id: Id
    issued_on: Day
    due_on: Day | None = None
    amount: Amount
    currency: Currency
    status: InvoiceStatus = "issued"
    direction: InvoiceDirection = "receivable"


class InvoiceOut(InvoiceIn, Stored):
    pass


class InvoiceRefusalIn(In):
    external_id: ExternalId | None = None
    invoice_id: Id
    refused_on: Day
    amount: Amount
    currency: Currency | None = Field(default=None, description="The invoice's currency (the default); no other.")
    reason: RefusalReason
    comment: Str500 | None = None


class InvoiceRefusalOut(InvoiceRefusalIn, Stored):
    currency: Currency


class PaymentIn(In):
    external_id: ExternalId | None = None
    invoice_id: Id | None = None
    counterparty_id: Id
    paid_on: Day
    amount: Amount
    currency: Currency


class PaymentOut(PaymentIn, Stored):
    pass


class FxRateIn(In):
    day: Day
    base_currency: Currency
    quote_currency: Currency
    rate: FxRateValue
    source: Str64 | None = None


class FxRateOut(FxRateIn, Stored):
    pass
