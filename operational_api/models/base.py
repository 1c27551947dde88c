"""The declarative base every operational table shares, and the change tracking it carries.

Every mapped table gets `created_at`, `updated_at`, `deleted_at` (tombstone) and `change_seq` from `Base`
itself, so no model can forget them. `change_seq` is a global, strictly increasing counter assigned in
the writing transaction (see `allocate_change_seq`), which lets the extract-load job read any table
incrementally with `WHERE change_seq > :watermark` and see inserts, updates and tombstones alike.

Commit order: the counter is one row (`pulse_change_seq`) that a writing transaction updates with
`UPDATE ... SET value = value + n RETURNING value`. The row lock is held until that transaction commits,
so no two transactions that allocate numbers overlap between allocation and commit: numbers are handed
out in commit order. On SQLite writers are serialized anyway (`BEGIN IMMEDIATE`). On PostgreSQL the
service layer's write transactions take that row lock first thing (`Store.write()`), which also keeps
lock order fixed (counter, then data rows) so writers cannot deadlock. An extractor must read one
snapshot (a REPEATABLE READ transaction) per run and keep the highest `change_seq` it saw as watermark.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    TypeDecorator,
    event,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

UTC = dt.UTC


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is always timezone-aware UTC in Python (naive input is taken as UTC).

    PostgreSQL stores `timestamptz`; SQLite stores naive UTC text (it has no time zones).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Types shared by every model: one place decides how ids, money and JSON are stored.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")  # SQLite: INTEGER PRIMARY KEY (rowid alias)
Money = Numeric(14, 2, asdecimal=True)
Rate = Numeric(18, 8, asdecimal=True)
JSONDoc = JSON().with_variant(JSONB(), "postgresql")
Currency = String(3)


def table_comment(comment: str, *, extract: bool = True) -> dict[str, Any]:
    """`__table_args__` of a table with only a comment (and whether the warehouse extracts it)."""
    args: dict[str, Any] = {"comment": comment}
    if not extract:
        args["info"] = {"extract": False}
    return args


class Base(DeclarativeBase):
    """Base of every operational table: one `MetaData`, change tracking columns on every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        dt.datetime: UTCDateTime(),
        Decimal: Money,
        dict[str, Any]: JSONDoc,
    }

    created_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, nullable=False, comment="When the row was first written (UTC)."
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, nullable=False, comment="When the row was last written (UTC)."
    )
    deleted_at: Mapped[dt.datetime | None] = mapped_column(
        UTCDateTime(),
        nullable=True,
        comment="Tombstone: when the row was deleted (rows are never removed); NULL while live.",
    )
    change_seq: Mapped[int] = mapped_column(
        BigInteger(),
        nullable=False,
        index=True,
        comment="Global change sequence, strictly increasing in commit order; bumped on every "
        "insert, update and tombstone. Extract incrementally with change_seq > watermark.",
    )


# The global counter. Not a mapped class: it carries no change tracking of its own.
change_seq_counter = Table(
    "pulse_change_seq",
    Base.metadata,
    Column("id", Integer, primary_key=True, comment="Always 1: the table has one row."),
    Column("value", BigInteger, nullable=False, comment="Last change_seq handed out."),
    comment="One-row counter behind every table's change_seq (internal; not extracted).",
    info={"extract": False},
)


def lock_change_seq(conn: Connection) -> None:
    """Take the counter's row lock now (PostgreSQL), so this transaction's later row locks come after it.

    SQLite needs nothing: the service layer opens write transactions with BEGIN IMMEDIATE.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT value FROM pulse_change_seq WHERE id = 1 FOR UPDATE")


def allocate_change_seq(conn: Connection, count: int) -> int:
    """Reserve `count` consecutive change_seq numbers in this transaction; returns the first one."""
    if count <= 0:
        return 0
    stmt = (
        update(change_seq_counter)
        .where(change_seq_counter.c.id == 1)
        .values(value=change_seq_counter.c.value + count)
        .returning(change_seq_counter.c.value)
    )
    top: int = conn.execute(stmt).scalar_one()
    return int(top) - count + 1


def stamp_rows(conn: Connection, rows: list[dict[str, Any]], *, new: bool = True) -> None:
    """Set change tracking columns on rows about to be written with Core (bulk paths)."""
    first = allocate_change_seq(conn, len(rows))
    now = utcnow()
    for offset, row in enumerate(rows):
        row["change_seq"] = first + offset
        row["updated_at"] = now
        if new:
            row.setdefault("created_at", now)


def table_of(model: type[Base]) -> Table:
    """The Core `Table` of a mapped class (typed, for set-based Core statements)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


class TombstoneRequired(RuntimeError):
    """Raised when code tries to hard-delete a tracked row instead of tombstoning it."""


@event.listens_for(Session, "before_flush")
def _stamp_orm_changes(session: Session, flush_context: Any, instances: Any) -> None:
    """ORM writes: every new or modified row gets updated_at and a fresh change_seq; deletes are refused."""
    for obj in session.deleted:
        if isinstance(obj, Base):
            raise TombstoneRequired(
                f"{type(obj).__name__} rows are never deleted: set deleted_at (services.common.tombstone)"
            )
    changed = [obj for obj in session.new if isinstance(obj, Base)]
    changed += [
        obj for obj in session.dirty if isinstance(obj, Base) and session.is_modified(obj, include_collections=False)
    ]
    if not changed:
        return
    first = allocate_change_seq(session.connection(), len(changed))
    now = utcnow()
    for offset, obj in enumerate(changed):
        obj.change_seq = first + offset
        obj.updated_at = now
        if obj.created_at is None:
            obj.created_at = now
