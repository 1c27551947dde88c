"""The raw layer's column and table descriptions, in ClickHouse and Arrow terms (no SQLAlchemy here).

`raw_schema` builds these from the operational models; the SQLite reader process gets them as JSON and
needs nothing heavier than pyarrow to turn what it reads into exactly the raw table's Arrow schema.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa

from warehouse.ddl import WarehouseDDL

RAW_DATABASE = "raw"
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


# Every insert into raw, whichever route: a batch never holds two versions of one key (it comes from one
# statement), so the replacing merge ClickHouse otherwise runs over every inserted block has nothing to remove;
# it is skipped (background merges and FINAL still keep one version per key across batches).
INSERT_SETTINGS = {"optimize_on_insert": 0}


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
    def source_schema(self) -> pa.Schema:
        """The operational columns only, as extracted (before the load columns are added)."""
        return pa.schema([pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in self.columns])

    @property
    def arrow_schema(self) -> pa.Schema:
        fields = list(self.source_schema)
        fields += [pa.field(name, arrow, nullable=False) for name, _, arrow in LOAD_COLUMNS]
        return pa.schema(fields)

    def create_sql(self, name: str | None = None, ddl: WarehouseDDL | None = None) -> str:
        ddl = ddl or WarehouseDDL.from_settings()
        columns = [f"`{c.name}` {c.clickhouse_type}" for c in self.columns]
        columns += [f"`{name}` {ch}" for name, ch, _ in LOAD_COLUMNS]
        key = ", ".join(f"`{k}`" for k in self.key)
        comment = self.comment.replace("\\", "\\\\").replace("'", "\\'")
        target = f"{RAW_DATABASE}.`{name}`" if name else self.qualified
        return (
            f"CREATE TABLE IF NOT EXISTS {target}{ddl.on_cluster} (\n  " + ",\n  ".join(columns) + "\n)\n"
            f"ENGINE = {ddl.engine('ReplacingMergeTree(_change_seq)')}\n"
            f"ORDER BY ({key}){ddl.table_settings}\n"
            f"COMMENT '{comment}'"
        )

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "columns": [asdict(c) for c in self.columns], "key": list(self.key)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RawTable:
        return cls(data["name"], tuple(RawColumn(**c) for c in data["columns"]), tuple(data["key"]))
