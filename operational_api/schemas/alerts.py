"""Request and response bodies of alert rules, alerts and their notifications.

A rule's `params` depend on its kind; each kind's parameters are a model here (PARAMS), checked when a rule is
written (operational_api.services.alert_rules.rule_before_write checks the merged row, so a PATCH cannot slip past).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from operational_api.models.alerts import (
    ALERT_KINDS,
    ALERT_STATUSES,
    CHANNELS,
    NOTIFICATION_EVENTS,
    NOTIFICATION_STATES,
    RULE_KINDS,
    SEVERITIES,
)
from operational_api.schemas.common import (
    ClientTxnId,
    Currency,
    Email,
    Id,
    In,
    LongText,
    PositiveAmount,
    Stored,
    Str128,
    Timestamp,
)
from operational_api.schemas.vending import TopupSource

RuleKind = Literal[RULE_KINDS]  # type: ignore[valid-type]
Severity = Literal[SEVERITIES]  # type: ignore[valid-type]
_OPEN_HOURS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")


def _open_hours(value: str | None) -> str | None:
    if value is not None and not _OPEN_HOURS.match(value):
        raise ValueError("open hours are `HH:MM-HH:MM` in the hospital's time zone, e.g. 07:00-21:00")
    return value


def _webhook(value: str) -> str:
    from operational_api.services.webhooks import check_url  # the address rules live with the sender's

    return check_url(value)


WebhookUrl = Annotated[str, Field(max_length=1000), AfterValidator(_webhook)]


class PinLockoutParams(In):
    """A customer locked by bad PINs (subject: the customer); resolves when the account is unlocked."""


class BadCredentialsParams(In):
    """Unknown client IDs and bad PINs at one machine (subject: the machine): possible abuse."""

    window_minutes: int = Field(default=10, ge=1, le=1440, description="Counted over the last this many minutes.")
    threshold: int = Field(default=10, ge=2, le=100_000, description="Fires at this many or more.")


class MachineOfflineParams(In):
    """An active machine that has not talked to the API for hours (subject: the machine)."""

    silent_hours: float = Field(default=2.0, gt=0, le=720, description="Fires after this long without a request.")
    open_hours: Annotated[str | None, AfterValidator(_open_hours)] = Field(
        default=None, description="Count silence only within these hours (hospital time), e.g. 07:00-21:00; "
        "none: around the clock."
    )  # fmt: skip


class LowStockParams(In):
    """A product in a machine at or below a number of units (subject: machine and product)."""

    threshold: int = Field(default=2, ge=0, le=100_000, description="Fires at this many units or fewer.")


class FailedTopUpParams(In):
    """A customer's failed top-up not followed by a successful one (subject: the customer)."""

    window_minutes: int = Field(default=60, ge=1, le=10_080, description="Failures this recent count.")


class MetricParams(In):
    """A metric of the metrics layer against a line, per dimension value (subject: that value)."""

    metric: str = Field(max_length=200, description="`model.metric`, as `pulse metrics list` names it.")
    by: str | None = Field(default=None, max_length=64, description="One alert per value of this dimension.")
    condition: Literal["above", "below", "drop_vs_weekday_average"] = Field(
        description="above/below: the latest complete day's value against `threshold`; drop_vs_weekday_average: "
        "the latest complete day down more than `threshold` percent from the same weekday's average over `weeks`."
    )
    threshold: float = Field(description="The line: a value (above, below) or a percent (drop).")
    weeks: int = Field(default=4, ge=1, le=52, description="Weeks the weekday average spans (drop).")
    period: Literal["day", "month", "all"] = Field(
        default="day", description="above/below: the latest complete day, the month to date, or all time."
    )


PARAMS: dict[str, type[In]] = {
    "pin_lockout": PinLockoutParams,
    "bad_credentials": BadCredentialsParams,
    "machine_offline": MachineOfflineParams,
    "low_stock": LowStockParams,
    "failed_top_up": FailedTopUpParams,
    "metric": MetricParams,
}
assert set(PARAMS) == set(RULE_KINDS), "every rule kind has its parameters"


class AlertRuleIn(In):
    name: Annotated[str, Field(min_length=1, max_length=120)]
    kind: RuleKind
    severity: Severity = "warning"
    enabled: bool = True
    params: dict[str, Any] = Field(default_factory=dict, description="Per kind: see the kind's parameters.")
    emails: list[Email] = Field(default_factory=list, max_length=100, description="Addresses told by email.")
    webhooks: list[WebhookUrl] = Field(default_factory=list, max_length=10, description="URLs told by a JSON POST.")
    cooldown_minutes: int = Field(default=60, ge=0, le=10_080, description="A subject firing again this soon after "
                                  "its last notice reopens its alert without a new notice.")  # fmt: skip
    remind_minutes: int = Field(default=60, ge=0, le=10_080, description="Remind this often while open and "
                                "unacknowledged; 0: never.")  # fmt: skip


class AlertRuleOut(Stored):
    name: str
    kind: str
    severity: str
    enabled: bool
    params: dict[str, Any]
    emails: list[str]
    webhooks: list[str] = Field(description="Scheme and host only: a webhook URL's path is often its secret.")
    cooldown_minutes: int
    remind_minutes: int

    @field_validator("webhooks")
    @classmethod
    def _masked(cls, urls: list[str]) -> list[str]:
        from operational_api.services.webhooks import shown

        return [shown(url) for url in urls]


class AlertIn(In):
    """An alert an integration raises itself (rules raise theirs)."""

    kind: Literal[ALERT_KINDS]  # type: ignore[valid-type]
    severity: Severity = "warning"
    status: Literal[ALERT_STATUSES] = "open"  # type: ignore[valid-type]
    customer_id: Id | None = None
    machine_id: Id | None = None
    hospital_id: Id | None = None
    message: LongText
    raised_at: Timestamp


class AlertOut(AlertIn, Stored):
    details: dict[str, object] | None = None
    rule_id: int | None
    subject: str | None
    occurrences: int
    last_seen_at: dt.datetime | None
    notified_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    resolved_at: dt.datetime | None


class TopupFailureIn(In):
    attempt_id: ClientTxnId = Field(
        description="Client-generated ID of the attempt: unique, so a retry cannot count twice."
    )
    customer_id: Id
    source: TopupSource
    amount: PositiveAmount = Field(description="Amount that was not credited.")
    currency: Currency
    reason: Annotated[str, Field(min_length=1, max_length=200)]
    processor_ref: Str128 | None = None
    occurred_at: Timestamp


class TopupFailureOut(TopupFailureIn, Stored):
    pass


class AlertNotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    alert_id: int
    event: Literal[NOTIFICATION_EVENTS]  # type: ignore[valid-type]
    sequence: int
    channel: Literal[CHANNELS]  # type: ignore[valid-type]
    target: str = Field(description="The address, or the webhook's scheme and host only (its path is a secret).")

    @field_validator("target")
    @classmethod
    def _masked(cls, target: str) -> str:
        from operational_api.services.webhooks import shown

        return shown(target) if "://" in target else target

    status: Literal[NOTIFICATION_STATES]  # type: ignore[valid-type]
    attempts: int
    next_attempt_at: dt.datetime
    sent_at: dt.datetime | None
    last_error: str | None


class AlertStateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: Literal[ALERT_STATUSES]  # type: ignore[valid-type]
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    resolved_at: dt.datetime | None
