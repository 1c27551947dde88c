"""The raw layer's schema, generated from the operational SQLAlchemy metadata (the one source of truth).

Every extracted operational table becomes `raw.<table>`: the same columns in ClickHouse types, plus load
metadata, in a ReplacingMergeTree keyed by the primary key and versioned by the change sequence. Loading
the same row version twice is therefore harmless: the replacing merge (or FINAL) keeps one, which is what
makes at-least-once delivery effectively-once.

Columns that hold secrets (PIN hashes, payment tokens, key hashes) never leave the operational store.
"""

from __future__ import annotations

import re

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    Table,
)
from sqlalchemy.types import TypeEngine

from extractors.raw_types import (
    CHANGE_SEQ,
    DELETED_AT,
    LOAD_COLUMNS,
    RAW_DATABASE,
    TYPES,
    RawColumn,
    RawTable,
)

__all__ = [
    "CHANGE_SEQ",
    "DELETED_AT",
    "LOAD_COLUMNS",
    "RAW_DATABASE",
    "SENSITIVE",
    "TYPES",
    "RawColumn",
    "RawTable",
    "extracted_tables",
    "raw_table",
]

# Never extracted, whatever a model says: the warehouse is read by dashboards and analysts.
SENSITIVE = re.compile(r"(^|_)(pin_hash|password|secret|payment_token|key_hash|token_hash)($|_)", re.I)


def _kind(sql_type: TypeEngine[object]) -> tuple[str, int, int]:
    impl = getattr(sql_type, "impl", None)
    if impl is not None and not isinstance(sql_type, Enum):  # TypeDecorator: classify what it stores
        return _kind(impl if isinstance(impl, TypeEngine) else impl())
    if isinstance(sql_type, Boolean):
        return "bool", 0, 0
    if isinstance(sql_type, SmallInteger):
        return "int16", 0, 0
    if isinstance(sql_type, BigInteger):
        return "int64", 0, 0
    if isinstance(sql_type, Integer):
        return "int32", 0, 0
    if isinstance(sql_type, Numeric) and not isinstance(sql_type, Float):
        return "decimal", sql_type.precision or 38, sql_type.scale if sql_type.scale is not None else 10
    if isinstance(sql_type, Float):
        return "float", 0, 0
    if isinstance(sql_type, DateTime):
        return "timestamp", 0, 0
    if isinstance(sql_type, Date):
        return "date", 0, 0
    if isinstance(sql_type, JSON):
        return "json", 0, 0
    if isinstance(sql_type, LargeBinary):
        raise TypeError("binary columns are not extracted")
    return "string", 0, 0


def raw_table(table: Table) -> RawTable:
    columns = []
    for column in table.columns:
        if SENSITIVE.search(column.name) or column.info.get("extract") is False:
            continue
        kind, precision, scale = _kind(column.type)
        columns.append(RawColumn(column.name, kind, bool(column.nullable), precision, scale))
    names = {c.name for c in columns}
    if CHANGE_SEQ not in names or DELETED_AT not in names:
        raise ValueError(f"{table.name} has no change tracking columns: it cannot be extracted incrementally")
    return RawTable(table.name, tuple(columns), tuple(c.name for c in table.primary_key), table.comment or "")


def extracted_tables(metadata: MetaData) -> list[RawTable]:
    """Every operational table that goes to the warehouse, in dependency order."""
    return [raw_table(t) for t in metadata.sorted_tables if t.info.get("extract", True)]
