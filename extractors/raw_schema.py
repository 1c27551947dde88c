"""The raw layer's schema, generated from the operational SQLAlchemy metadata (the one source of truth).

Every extracted operational table becomes `raw.<table>`: the same columns in ClickHouse types, plus load
metadata, in a ReplacingMergeTree keyed by the primary key and versioned by the change sequence. Loading
the same row version twice is therefore harmless: the replacing merge (or FINAL) keeps one, which is what
makes at-least-once delivery effectively-once.

Columns that hold secrets (PIN hashes, payment tokens, key hashes) never leave the operational store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa
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

RAW_DATABASE = "raw"
# Never extracted, whatever a model says: the warehouse is read by dashboards and analysts.
SENSITIVE = re.compile(r"(^|_)(pin_hash|password|secret|payment_token|key_hash|token_hash)($|_)", re.I)
CHANGE_SEQ = "change_seq"
DELETED_AT = "deleted_at"


# kind -> (ClickHouse type, Arrow type); decimals carry their own precision and scale.
TYPES: dict[str, tuple[str, pa.DataType]] = {
    "int16": ("Int16", pa.int16()),
    "int32": ("Int32", pa.int32()),
    "int64": ("Int64", pa.int64()),
    "float": ("Float64", pa.float64()),
    "bool": ("Bool", pa.bool_()),
    "date": ("Date32", pa.date32()),
    "timestamp": ("DateTime64(6, 'UTC')", pa.timestamp("us", tz="UTC")),
    "string": ("String", pa.string()),
    "json": ("String", pa.string()),
}


@dataclass(frozen=True)
class RawColumn:
    name: str
    kind: str  # a key of TYPES, or "decimal"
    nullable: bool
    precision: int = 0
    scale: int = 0

    @property
    def clickhouse_type(self) -> str:
        base = TYPES[self.kind][0] if self.kind in TYPES else f"Decimal({self.precision}, {self.scale})"
        return f"Nullable({base})" if self.nullable else base

    @property
    def arrow_type(self) -> pa.DataType:
        return TYPES[self.kind][1] if self.kind in TYPES else pa.decimal128(self.precision, self.scale)


LOAD_COLUMNS = (
    ("_change_seq", "UInt64", pa.uint64()),
    ("_is_deleted", "UInt8", pa.uint8()),
    ("_loaded_at", "DateTime64(3, 'UTC')", pa.timestamp("ms", tz="UTC")),
)


@dataclass(frozen=True)
class RawTable:
    name: str
    columns: tuple[RawColumn, ...]
    key: tuple[str, ...]
    comment: str = ""

    @property
    def qualified(self) -> str:
        return f"{RAW_DATABASE}.`{self.name}`"

    @property
    def arrow_schema(self) -> pa.Schema:
        fields = [pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in self.columns]
        fields += [pa.field(name, arrow, nullable=False) for name, _, arrow in LOAD_COLUMNS]
        return pa.schema(fields)

    def create_sql(self, name: str | None = None) -> str:
        columns = [f"`{c.name}` {c.clickhouse_type}" for c in self.columns]
        columns += [f"`{name}` {ch}" for name, ch, _ in LOAD_COLUMNS]
        key = ", ".join(f"`{k}`" for k in self.key)
        comment = self.comment.replace("\\", "\\\\").replace("'", "\\'")
        target = f"{RAW_DATABASE}.`{name}`" if name else self.qualified
        return (
            f"CREATE TABLE IF NOT EXISTS {target} (\n  " + ",\n  ".join(columns) + "\n)\n"
            "ENGINE = ReplacingMergeTree(_change_seq)\n"
            f"ORDER BY ({key})\n"
            f"COMMENT '{comment}'"
        )


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
