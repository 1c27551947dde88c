"""Bulk writes on a simulated timeline.

The simulation schedules every write at the simulated moment it happens (`Timeline.insert/update/
tombstone`); the history run applies one simulated day at a time in one write transaction (`apply_day`),
with set-based Core statements. What the service layer guarantees is kept:

- every written row gets a fresh `change_seq` from `allocate_change_seq` inside the writing transaction
  (`Store.write()` takes the counter lock first), so numbers follow commit order and an incremental
  extractor sees inserts, updates and tombstones day by day;
- `created_at`/`updated_at` are the simulated times of the write (not the wall clock), so the same seed
  gives the same rows;
- rows are never deleted: a delete is a tombstone (`deleted_at`).

Writes scheduled at or after the end of the window never happen (the future has not happened yet).
Ids are assigned here (`Ids`), which is why a history run needs an empty store; on PostgreSQL the id
sequences are moved past them afterwards (`sync_sequences`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Integer, Table, bindparam, event, func, insert, select, text, update

from operational_api.db import Store
from operational_api.models import Base, allocate_change_seq, table_of

Row = dict[str, Any]
# (at, sequence, kind, table name, row id, values)
Op = tuple[dt.datetime, int, str, str, Any, Row]

TABLES: dict[str, Table] = {table.name: table for table in Base.metadata.sorted_tables}
INSERT_ORDER = [table.name for table in Base.metadata.sorted_tables]  # parents before children


class Ids:
    """Surrogate ids handed out in simulation order (deterministic for a seed)."""

    def __init__(self) -> None:
        self._last: dict[str, int] = defaultdict(int)

    def next(self, model: type[Base]) -> int:
        name = model.__tablename__
        self._last[name] += 1
        return self._last[name]


class Timeline:
    """Writes waiting for their simulated moment, bucketed by UTC day."""

    def __init__(self, stop: dt.datetime) -> None:
        self.stop = stop
        self._days: dict[dt.date, list[Op]] = defaultdict(list)
        self._seq = 0

    def _add(self, at: dt.datetime, kind: str, model: type[Base], row_id: Any, values: Row) -> None:
        if at >= self.stop:
            return
        self._seq += 1
        self._days[at.date()].append((at, self._seq, kind, model.__tablename__, row_id, values))

    def insert(self, model: type[Base], row: Row, at: dt.datetime) -> None:
        self._add(at, "insert", model, row["id"], row)

    def update(self, model: type[Base], row_id: Any, values: Row, at: dt.datetime) -> None:
        self._add(at, "update", model, row_id, values)

    def tombstone(self, model: type[Base], row_id: Any, at: dt.datetime) -> None:
        self._add(at, "update", model, row_id, {"deleted_at": at})

    def take_until(self, day: dt.date) -> list[Op]:
        """Every write scheduled on or before `day`, in simulated time order."""
        due = sorted(d for d in self._days if d <= day)
        ops: list[Op] = []
        for d in due:
            ops.extend(self._days.pop(d))
        ops.sort(key=lambda op: (op[0], op[1]))
        return ops


def apply_day(store: Store, ops: list[Op]) -> Counter[str]:
    """Write one day's operations in one transaction; returns rows written per table."""
    inserts: dict[str, dict[Any, Row]] = defaultdict(dict)
    updates: dict[str, dict[Any, Row]] = defaultdict(dict)
    for at, _, kind, table_name, row_id, values in ops:
        if kind == "insert":
            row = dict(values)
            row.setdefault("created_at", at)
            row["updated_at"] = at
            row.setdefault("deleted_at", None)
            inserts[table_name][row_id] = row
            continue
        pending = inserts[table_name].get(row_id)
        target = pending if pending is not None else updates[table_name].setdefault(row_id, {})
        target.update(values)
        target["updated_at"] = at
    written: Counter[str] = Counter()
    with store.write() as session:
        conn = session.connection()
        for name in INSERT_ORDER:
            rows = list(inserts.get(name, {}).values())
            if not rows:
                continue
            table = TABLES[name]
            keys: set[str] = set().union(*rows)  # executemany needs one key set for every row
            first = allocate_change_seq(conn, len(rows))
            for offset, row in enumerate(rows):
                row["change_seq"] = first + offset
                if len(row) != len(keys) + 1:
                    for key in keys:
                        row.setdefault(key, None)
            conn.execute(insert(table), rows)
            written[name] += len(rows)
        for name in INSERT_ORDER:
            changed = updates.get(name)
            if not changed:
                continue
            table = TABLES[name]
            # One executemany per set of changed columns (rows changing the same columns together).
            groups: dict[tuple[str, ...], list[Row]] = defaultdict(list)
            for row_id, values in changed.items():
                groups[tuple(sorted(values))].append({**values, "_row_id": row_id})
            for params in groups.values():
                first = allocate_change_seq(conn, len(params))
                for offset, param in enumerate(params):
                    param["change_seq"] = first + offset
                stmt = update(table).where(table.c.id == bindparam("_row_id"))
                conn.execute(stmt, params)
                written[name] += len(params)
    return written


@contextmanager
def deferred_checkpoints(store: Store) -> Iterator[None]:
    """SQLite: no WAL checkpoint between the history's days, one at the end. Each day's commit otherwise copies the
    pages it touched into the database file (every day's WAL passes SQLite's 1,000-page threshold), the same index
    pages again day after day: about 3 s of 38 for 180 days of the demo's business. PostgreSQL: nothing."""
    if store.dialect != "sqlite":
        yield
        return
    engine = store.write_engine

    def no_checkpoints(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")

    event.listen(engine, "checkout", no_checkpoints)
    try:
        yield
    finally:
        event.remove(engine, "checkout", no_checkpoints)
        engine.dispose()  # the pooled connections that checkpoint never; new ones have SQLite's default
        raw = engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the driver's own cursor: outside any transaction
        finally:
            raw.close()


def store_is_empty(store: Store) -> list[str]:
    """Tables the history run would write that already hold rows (the run needs them empty)."""
    from operational_api import models as m

    busy = []
    with store.read() as session:
        for model in (m.Hospital, m.Customer, m.VendTransaction, m.Lead, m.Operator, m.FxRate):
            if session.execute(select(func.count()).select_from(table_of(model))).scalar_one():
                busy.append(model.__tablename__)
    return busy


def sync_sequences(store: Store) -> None:
    """PostgreSQL: move each id sequence past the ids the history wrote (SQLite needs nothing)."""
    if store.dialect != "postgresql":
        return
    with store.write() as session:
        for table in TABLES.values():
            id_col = table.c.get("id")
            if id_col is None or not isinstance(id_col.type, Integer):
                continue
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                )
            )
