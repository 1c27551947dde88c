"""Field types shared by every request and response schema.

Each input type is bounded so that anything the schema accepts the database can store: strings have
the column's length and no NUL characters, integers fit their column, money fits NUMERIC(14,2),
timestamps are within years 1900-2200 and become UTC, JSON documents hold no NUL or non-finite numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, create_model

from pulse.core.schedule import check_time_zone

INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1
T = TypeVar("T")
MAX_BATCH = 10_000


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _utc(value: dt.datetime) -> dt.datetime:
    if not 1900 <= value.year <= 2200:
        raise ValueError("must be between the years 1900 and 2200")
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _sane_date(value: dt.date) -> dt.date:
    if not 1900 <= value.year <= 2200:
        raise ValueError("must be between the years 1900 and 2200")
    return value


def _json_doc(value: dict[str, Any]) -> dict[str, Any]:
    def walk(node: Any, depth: int) -> None:
        if depth > 16:
            raise ValueError("is nested too deeply (max 16 levels)")
        if isinstance(node, str):
            if "\x00" in node:
                raise ValueError("must not contain NUL characters")
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise ValueError("must not contain NaN or infinite numbers")
        elif isinstance(node, int) and not isinstance(node, bool):
            if abs(node) > INT64_MAX:
                raise ValueError("holds an integer too large to store")
        elif isinstance(node, dict):
            for key, item in node.items():
                walk(key, depth + 1)
                walk(item, depth + 1)
        elif isinstance(node, list):
            for item in node:
                walk(item, depth + 1)

    walk(value, 0)
    return value


NoNul = AfterValidator(_no_nul)
Name = Annotated[str, StringConstraints(min_length=1, max_length=200), NoNul]
Short = Annotated[str, StringConstraints(min_length=1, max_length=64), NoNul]
Tiny = Annotated[str, StringConstraints(min_length=1, max_length=16), NoNul]
Str32 = Annotated[str, StringConstraints(max_length=32), NoNul]
ClientId = Annotated[str, StringConstraints(min_length=1, max_length=32), NoNul]
Str64 = Annotated[str, StringConstraints(max_length=64), NoNul]
Str120 = Annotated[str, StringConstraints(max_length=120), NoNul]
Str128 = Annotated[str, StringConstraints(max_length=128), NoNul]
Str200 = Annotated[str, StringConstraints(max_length=200), NoNul]
Str300 = Annotated[str, StringConstraints(max_length=300), NoNul]
Str500 = Annotated[str, StringConstraints(max_length=500), NoNul]
LongText = Annotated[str, StringConstraints(max_length=10_000), NoNul]
Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s\x00]+@[^@\s\x00]+$")]
Phone = Annotated[str, StringConstraints(max_length=32, pattern=r"^\+?[0-9 ()\-]{3,31}$")]
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-/@]+$")]
ClientTxnId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-]+$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
# A currency the client may leave out: the service fills in the business's (services.common.default_to_business_currency).
BUSINESS_CURRENCY = "ISO 4217. Default: the business's reporting currency (PULSE_REPORTING_CURRENCY)."
# Any IANA zone this machine's tz database knows (the warehouse turns UTC into local dates in it): 422 otherwise.
TimeZone = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z_]+(/[A-Za-z0-9_+\-]+)*$"),
    AfterValidator(check_time_zone),
]
Locale = Annotated[str, StringConstraints(pattern=r"^(en|ru)$")]
Url = Annotated[str, StringConstraints(max_length=1000, pattern=r"^https?://[^\s\x00]+$")]

Id = Annotated[int, Field(ge=1, le=INT64_MAX)]
Count = Annotated[int, Field(ge=0, le=INT32_MAX)]
BigCount = Annotated[int, Field(ge=0, le=INT64_MAX)]
Quantity = Annotated[int, Field(ge=1, le=1000)]
Amount = Annotated[Decimal, Field(max_digits=14, decimal_places=2)]
PositiveAmount = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)]
NonNegativeAmount = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
FxRateValue = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=8)]
CommissionRate = Annotated[Decimal, Field(ge=0, le=1, max_digits=6, decimal_places=4)]
Timestamp = Annotated[dt.datetime, AfterValidator(_utc)]
Day = Annotated[dt.date, AfterValidator(_sane_date)]
JsonDoc = Annotated[dict[str, Any], AfterValidator(_json_doc)]


class In(BaseModel):
    """Base of request bodies: unknown fields are an error (they are usually typos)."""

    model_config = ConfigDict(extra="forbid")


class Stored(BaseModel):
    """Columns every stored row has, returned with it."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="Surrogate key.")
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None = Field(description="Set when the row was deleted (tombstone).")
    change_seq: int = Field(description="Global change sequence: strictly increases with every write.")


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="Where: e.g. ['body', 'items', 3, 'quantity'].")
    reason: str = Field(description="Why it was refused.")


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable error code.")
    message: str = Field(description="Human-readable summary.")
    fields: list[FieldError] = Field(default_factory=list)


class ErrorBody(BaseModel):
    """The one shape of every error response."""

    error: ErrorDetail


# The documented answer of every route that needs the warehouse (services.common.Unavailable).
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorBody, "description": "The warehouse did not answer; nothing was stored, try again"}
}


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


def partial(model: type[BaseModel], name: str, exclude: tuple[str, ...] = ()) -> type[BaseModel]:
    """A PATCH body: every field of `model` optional (omitted = unchanged), same constraints."""
    fields: dict[str, Any] = {}
    for field_name, info in model.model_fields.items():
        if field_name in exclude:
            continue
        annotation: Any = info.annotation
        if info.metadata:
            annotation = Annotated[(annotation, *info.metadata)]
        fields[field_name] = (annotation, Field(default=None, description=info.description))
    return create_model(name, __base__=In, __doc__="Fields to change; omitted fields keep their value.", **fields)
