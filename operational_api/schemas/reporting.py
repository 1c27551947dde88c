"""Report subscriptions and their deliveries. Cron and time zone are checked here (422 with the reason);
the recipient query is checked against the warehouse by the service."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from operational_api.models.reporting import ATTACHMENT_FORMATS, DELIVERY_STATES, REPORT_FORMATS, REPORT_KINDS
from operational_api.schemas.common import In, Name, NoNul, Stored, TimeZone, partial
from operational_api.services.audiences import AUDIENCES, MAX_IDS
from pulse.core.schedule import check_cron

# The longest text each subscription field takes (the portal's form checks the same, pulse/portal/pages.py).
TEXT_LIMITS = {"name": 200, "description": 1000, "recipient_query": 20_000, "recipients": 100_000, "email": 254}

Cron = Annotated[
    str,
    StringConstraints(min_length=1, max_length=120),
    NoNul,
    AfterValidator(check_cron),
    Field(description="Five-field cron (minute hour day-of-month month day-of-week), e.g. `0 7 1 * *`."),
]
IanaZone = Annotated[TimeZone, Field(description="IANA time zone of the cron.")]
RecipientQuery = Annotated[
    str,
    StringConstraints(min_length=1, max_length=TEXT_LIMITS["recipient_query"]),
    NoNul,
    Field(
        description="One warehouse SELECT, run as the read-only user, returning one row per recipient: `email`, "
        "`locale` (en/ru), optionally `name`, and the report's parameters (`hospital_id`, `customer_id` or "
        "`counterparty_id`; `period`/`week` optional, else derived from the fire time)."
    ),
]
ReportKind = Literal[REPORT_KINDS]  # type: ignore[valid-type]
ReportFormat = Literal[REPORT_FORMATS]  # type: ignore[valid-type]
DeliveryState = Literal[DELIVERY_STATES]  # type: ignore[valid-type]
AttachmentFormat = Literal[ATTACHMENT_FORMATS]  # type: ignore[valid-type]


def _unique(formats: list[str]) -> list[str]:
    if len(set(formats)) != len(formats):
        raise ValueError("must list each format once")
    return formats


Attachments = Annotated[
    list[AttachmentFormat],
    AfterValidator(_unique),
    Field(
        max_length=len(ATTACHMENT_FORMATS),
        description="Besides the PDF, the statement's tables as these files: `csv` (one per table, UTF-8) and/or "
        "`xlsx` (one sheet per table). Empty: the PDF only.",
    ),
]


IdList = Annotated[list[Annotated[int, Field(ge=1)]], Field(max_length=MAX_IDS)]


class AudienceIn(In):
    """An audience preset and its choices; the service writes the recipient query from it."""

    preset: Literal[AUDIENCES] = Field(  # type: ignore[valid-type]
        description="hospital_contacts, consenting_customers, counterparties, sales_reps, static_list, or custom "
        "(then send `recipient_query`)."
    )
    hospital_ids: IdList | None = Field(default=None, description="hospital_contacts: only these hospitals.")
    sales_rep_ids: IdList | None = Field(default=None, description="sales_reps: only these reps.")
    counterparty_ids: IdList | None = Field(default=None, description="counterparties: only these.")
    email: Annotated[str, StringConstraints(max_length=TEXT_LIMITS["email"]), NoNul] | None = Field(
        default=None, description="counterparties: the address that receives every statement."
    )
    recipients: Annotated[str, StringConstraints(max_length=TEXT_LIMITS["recipients"]), NoNul] | None = Field(
        default=None, description="static_list: one `email, locale, name[, id]` per line."
    )


class SubscriptionIn(In):
    name: Name = Field(description="Unique name (the CLI runs subscriptions by name).")
    description: Annotated[str, StringConstraints(max_length=TEXT_LIMITS["description"]), NoNul] | None = None
    report_kind: ReportKind = Field(description="Which report every recipient gets.")
    cron: Cron
    time_zone: IanaZone
    format: ReportFormat = "pdf"
    attachments: Attachments = Field(default_factory=list)
    enabled: bool = True
    audience: AudienceIn | None = Field(default=None, description="Who receives it, from a preset.")
    recipient_query: RecipientQuery | None = Field(default=None, description="Or the recipients as a query.")


SubscriptionPatch = partial(SubscriptionIn, "SubscriptionPatch")


class SubscriptionOut(Stored):
    name: str
    description: str | None
    report_kind: str
    cron: str
    time_zone: str
    format: str
    attachments: list[str]
    enabled: bool
    audience: dict[str, Any] | None = Field(description="The preset the query was written from (null: by hand).")
    recipient_query: str
    last_fired_at: dt.datetime | None = Field(description="Latest fire time whose deliveries were planned.")
    next_fire_at: dt.datetime | None = Field(
        default=None, description="Next fire time, in the subscription's zone (null when disabled)."
    )


class DeliveryOut(Stored):
    subscription_id: int
    email: str
    period: str
    params: dict[str, Any]
    locale: str
    recipient_name: str | None
    state: DeliveryState
    attempts: int
    last_error: str | None
    message_id: str | None
    next_attempt_at: dt.datetime | None = Field(description="When a failed delivery is retried (null: not).")
    claimed_at: dt.datetime | None
    sent_at: dt.datetime | None


class UnsubscribeOut(BaseModel):
    subscription: str
    email: str
