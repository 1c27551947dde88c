"""Arrow batches in exactly the raw table's types, whichever driver read them.

SQLite has no column types: timestamps come as naive-UTC text, numerics as text (read with CAST, which is
exact), and a column that is NULL throughout a batch comes typed as whatever the driver guessed.
PostgreSQL's types map directly. Everything is cast here, in one place, so the in-process reader and the
SQLite reader process produce identical batches (a test compares them table by table).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from extractors.raw_types import CHANGE_SEQ, DELETED_AT, RawColumn, RawTable


def _conform_column(array: pa.ChunkedArray | pa.Array, column: RawColumn) -> pa.ChunkedArray | pa.Array:
    target = column.arrow_type
    if array.type == target:
        return array
    if array.null_count == len(array):
        return pa.nulls(len(array), target)
    if column.kind == "timestamp":
        if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
            # SQLite: naive UTC text, "YYYY-MM-DD HH:MM:SS[.ffffff]".
            return array.cast(pa.timestamp("us")).cast(target)
        if pa.types.is_timestamp(array.type) and array.type.tz is None:
            return array.cast(pa.timestamp("us")).cast(target)
    if column.kind == "decimal" and pa.types.is_floating(array.type):
        array = pc.round(array, column.scale)
    if column.kind == "date" and pa.types.is_timestamp(array.type):
        return array.cast(pa.date32())
    return array.cast(target)


def conform(batch: pa.Table | pa.RecordBatch, table: RawTable) -> pa.Table:
    """The batch in exactly the raw table's column types (no load columns yet)."""
    arrays = [_conform_column(batch.column(c.name), c) for c in table.columns]
    return pa.Table.from_arrays(arrays, schema=table.source_schema)


def with_load_columns(batch: pa.Table, loaded_at: pa.Scalar) -> pa.Table:
    """Add `_change_seq`, `_is_deleted` and `_loaded_at`."""
    change_seq = batch.column(CHANGE_SEQ).cast(pa.uint64())
    deleted = pc.is_valid(batch.column(DELETED_AT)).cast(pa.uint8())
    loaded = pa.repeat(loaded_at, batch.num_rows)
    return (
        batch.append_column(pa.field("_change_seq", pa.uint64(), nullable=False), change_seq)
        .append_column(pa.field("_is_deleted", pa.uint8(), nullable=False), deleted)
        .append_column(pa.field("_loaded_at", pa.timestamp("ms", tz="UTC"), nullable=False), loaded)
    )
