"""Generic create / read / update / tombstone / upsert-by-external-ID for the plain resources.

A `Resource` names a model, its schemas and its filters; hooks add what a resource needs beyond that
(hashing a customer's PIN, writing a deal's stage history). Routes are generated from the same list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from operational_api.models import Base, table_of
from operational_api.services.common import (
    Conflict,
    Invalid,
    Loc,
    NotFound,
    check_references,
    decode_cursor,
    encode_cursor,
    tombstone,
)

Hook = Callable[[Session, dict[str, Any], Any], dict[str, Any]]
AfterHook = Callable[[Session, Any, dict[str, Any], bool], None]


@dataclass(frozen=True)
class Resource:
    name: str  # URL segment
    model: type[Base]
    out: type[BaseModel]
    create: type[BaseModel] | None = None
    patch: type[BaseModel] | None = None
    filters: tuple[str, ...] = ()
    read_scopes: tuple[str, ...] = ("operator", "integration")
    write_scopes: tuple[str, ...] = ("operator", "integration")
    deletable: bool = True
    # before_write(session, values, existing_or_None) -> values to store
    before_write: Hook | None = None
    # after_write(session, obj, submitted_values, created)
    after_write: AfterHook | None = None
    tag: str = "crm"
    summary: str = ""
    # A unique key whose tombstoned row a create brings back to life instead of inserting: for link rows (a rep's
    # hospital) that come and go, where the tombstone keeping its key would refuse the pair for ever.
    revive_by: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def upsertable(self) -> bool:
        return "external_id" in self.model.__table__.c and self.create is not None

    @property
    def id_is_int(self) -> bool:
        return self.model.__table__.c.id.type.python_type is int


def _unique_sets(model: type[Base]) -> list[tuple[str, ...]]:
    sets: list[tuple[str, ...]] = []
    table = table_of(model)
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            sets.append(tuple(c.key for c in constraint.columns))
    for column in table.columns:
        if column.unique:
            sets.append((column.key,))
    return sets


def check_unique(session: Session, model: type[Base], values: dict[str, Any], self_id: Any = None) -> None:
    """Refuse values that would collide with another row (tombstoned rows keep their keys)."""
    for keys in _unique_sets(model):
        if not all(values.get(k) is not None for k in keys):
            continue
        query = select(model.id).where(*(getattr(model, k) == values[k] for k in keys))  # type: ignore[attr-defined]
        if self_id is not None:
            query = query.where(model.id != self_id)  # type: ignore[attr-defined]
        if session.execute(query.limit(1)).first() is not None:
            raise Conflict(
                f"another {model.__tablename__} row has the same {', '.join(keys)}",
                [(("body", k), "already used by another row") for k in keys],
            )


def _flush(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as err:
        # Checks above catch the usual cases with field names; this is the backstop for races.
        raise Conflict("the change conflicts with existing data (a unique or reference rule)") from err


def list_rows(
    session: Session,
    res: Resource,
    *,
    filters: dict[str, Any],
    limit: int,
    cursor: str | None,
    include_deleted: bool,
    changed_since: int | None,
) -> tuple[Sequence[Any], str | None]:
    model: Any = res.model
    query: Select[Any] = select(model)
    for name, value in filters.items():
        if value is not None:
            query = query.where(getattr(model, name) == value)
    if not include_deleted:
        query = query.where(model.deleted_at.is_(None))
    if changed_since is not None:
        query = query.where(model.change_seq > changed_since)
    if cursor is not None:
        raw = decode_cursor(cursor)
        after: Any = raw
        if res.id_is_int:
            try:
                after = int(raw)
                if not -(2**63) < after < 2**63:
                    raise ValueError(raw)
            except ValueError:
                raise Invalid("bad cursor", [(("query", "cursor"), "not a cursor this API returned")]) from None
        query = query.where(model.id > after)
    rows: Sequence[Any] = session.execute(query.order_by(model.id).limit(limit + 1)).scalars().all()
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def get_row(session: Session, res: Resource, row_id: Any) -> Any:
    obj = session.get(res.model, row_id)
    if obj is None or obj.deleted_at is not None:
        raise NotFound(f"no {res.name} with id {row_id}")
    return obj


def create_row(session: Session, res: Resource, values: dict[str, Any], loc: Loc = ("body",)) -> Any:
    if res.revive_by and all(values.get(k) is not None for k in res.revive_by):
        model: Any = res.model
        dead = session.execute(
            select(model.id).where(
                model.deleted_at.is_not(None), *(getattr(model, k) == values[k] for k in res.revive_by)
            )
        ).scalar_one_or_none()
        if dead is not None:
            return update_row(session, res, dead, values, revive=True)
    submitted = dict(values)
    if res.before_write is not None:
        values = res.before_write(session, values, None)
    check_references(session, res.model, [values], loc)
    check_unique(session, res.model, values)
    obj = res.model(**values)
    session.add(obj)
    _flush(session)
    if res.after_write is not None:
        res.after_write(session, obj, submitted, True)
        _flush(session)
    return obj


def update_row(session: Session, res: Resource, row_id: Any, values: dict[str, Any], revive: bool = False) -> Any:
    obj: Any = session.get(res.model, row_id)
    if obj is None or (obj.deleted_at is not None and not revive):
        raise NotFound(f"no {res.name} with id {row_id}")
    submitted = dict(values)
    if res.before_write is not None:
        values = res.before_write(session, values, obj)
    check_references(session, res.model, [values])
    check_unique(session, res.model, values, self_id=obj.id)
    for key, value in values.items():
        setattr(obj, key, value)
    if revive:
        obj.deleted_at = None
    _flush(session)
    if res.after_write is not None:
        res.after_write(session, obj, submitted, False)
        _flush(session)
    return obj


def delete_row(session: Session, res: Resource, row_id: Any) -> None:
    obj = get_row(session, res, row_id)
    tombstone(obj)
    _flush(session)


def upsert_row(session: Session, res: Resource, external_id: str, values: dict[str, Any]) -> tuple[Any, bool]:
    """Create or replace the row with this external ID (a tombstoned one comes back to life)."""
    values = {**values, "external_id": external_id}
    model: Any = res.model
    existing = session.execute(select(model).where(model.external_id == external_id)).scalar_one_or_none()
    if existing is None:
        return create_row(session, res, values), True
    return update_row(session, res, existing.id, values, revive=True), False
