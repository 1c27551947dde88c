"""What every service shares: the errors it raises (mapped to HTTP by the API), tombstones, references,
duplicate comparison and cursor pagination."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from email_validator import validate_email
from sqlalchemy import Column, select
from sqlalchemy.orm import Session

from operational_api.models import Base, utcnow

Loc = tuple[str | int, ...]
MAX_REPORTED_FIELDS = 100


def checked_email(value: str) -> str:
    """The address, lower-cased, if a statement can be sent to it; else EmailNotValidError saying why. Syntax only
    (no DNS), and test domains allowed: the simulator's and the tests' addresses are such."""
    validate_email(value, check_deliverability=False, globally_deliverable=False, test_environment=True)
    return value.lower()


class ServiceError(Exception):
    """A request the service refuses; `status` is its HTTP status, `fields` say where and why."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: Sequence[tuple[Loc, str]] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.fields = list(fields)[:MAX_REPORTED_FIELDS]


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class Invalid(ServiceError):
    status = 422
    code = "invalid"


class Unavailable(ServiceError):
    """The warehouse did not answer: nothing was done, the caller may retry."""

    status = 503
    code = "unavailable"


def tombstone(obj: Base) -> None:
    """Delete a row the only way rows are deleted: mark it (the change_seq bump happens at flush)."""
    obj.deleted_at = utcnow()


def live(session: Session, model: type[Base], row_id: int) -> Any:
    """The row with this id that is not tombstoned, else NotFound."""
    obj = session.get(model, row_id)
    if obj is None or obj.deleted_at is not None:
        raise NotFound(f"no {model.__tablename__} row with id {row_id}")
    return obj


def check_references(
    session: Session, model: type[Base], rows: Sequence[dict[str, Any]], loc: Loc = ("body",), batch: bool = False
) -> None:
    """Every foreign key value in `rows` must name a live row; else Invalid, naming each field."""
    problems: list[tuple[Loc, str]] = []
    for fk in model.__table__.foreign_keys:
        column = fk.parent
        target: Column[Any] = fk.column
        wanted = {row[column.key] for row in rows if row.get(column.key) is not None}
        if not wanted:
            continue
        query = select(target).where(target.in_(wanted))
        if "deleted_at" in target.table.c:
            query = query.where(target.table.c.deleted_at.is_(None))
        found: set[Any] = set(session.execute(query).scalars())
        missing = wanted - found
        if not missing:
            continue
        for index, row in enumerate(rows):
            if row.get(column.key) in missing:
                where = (*loc, index, column.key) if batch else (*loc, column.key)
                problems.append((where, f"no {target.table.name} row with {target.key} {row[column.key]!r}"))
    if problems:
        raise Invalid("references to rows that do not exist", problems)


def normalise(value: Any) -> Any:
    """A comparable form of a stored or submitted value (for same-ID-same-content checks)."""
    if isinstance(value, Decimal):
        return value.normalize()
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)
    return value


def differing_fields(submitted: dict[str, Any], stored: Any, fields: Iterable[str]) -> list[str]:
    out = []
    for name in fields:
        if name not in submitted:
            continue
        if normalise(submitted[name]) != normalise(getattr(stored, name)):
            out.append(name)
    return out


def encode_cursor(last_id: int | str) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Invalid("bad cursor", [(("query", "cursor"), "not a cursor this API returned")]) from None
    if not text.startswith("id:"):
        raise Invalid("bad cursor", [(("query", "cursor"), "not a cursor this API returned")])
    return text[3:]


def business_currency(session: Session) -> str:
    """The business's reporting currency, from the settings the store was opened with (`get_settings()` unless its
    owner passed others): the one place the API reads it."""
    return str(session.info["store"].settings.business.currency)


def default_to_business_currency(session: Session, values: dict[str, Any], existing: Any) -> dict[str, Any]:
    """Amounts and prices the business sets itself (price lists, commission plans, campaigns, ad spend, deals,
    counterparties, appointments): no currency = the reporting one. On a replace (`existing`), a missing currency
    keeps the stored one rather than switching to the default."""
    values = dict(values)
    if values.get("currency") is None:
        if existing is None:
            values["currency"] = business_currency(session)
        else:
            values.pop("currency", None)
    return values
