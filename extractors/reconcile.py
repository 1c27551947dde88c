"""Reconciliation: the operational store, `raw` and staging agree, or the run fails.

All comparisons happen inside one snapshot of the operational store, after catching `raw` up to that
same snapshot, so live traffic arriving meanwhile cannot raise a false alarm:

- raw: row count, tombstone count and sum(change_seq) of the latest version of every key equal the
  operational table's (a missing, duplicated or stale row changes at least one of them);
- staging (where a `stg_<table>` model exists): its row count and sum(_change_seq) equal the operational
  table's live (not tombstoned) rows: every staging model keeps the latest live version of each key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.table import Table

from extractors.load import Watermarks, load_incremental, select_tables
from extractors.source import Source
from operational_api.db import database_url
from pulse.core.run_ids import new_run_id
from pulse.core.settings import Settings, get_settings
from warehouse.client import connect
from warehouse.ddl import WarehouseDDL

STAGING_DATABASE = "staging"


@dataclass(frozen=True)
class Check:
    table: str
    layer: str
    measures: str
    operational: tuple[int, ...]
    warehouse: tuple[int, ...]

    @property
    def ok(self) -> bool:
        return self.operational == self.warehouse


class ReconciliationError(AssertionError):
    def __init__(self, failed: Sequence[Check]) -> None:
        lines = [
            f"{c.table} ({c.layer}): {c.measures} operational={c.operational} warehouse={c.warehouse}" for c in failed
        ]
        super().__init__("warehouse does not match the operational store:\n" + "\n".join(lines))
        self.failed = list(failed)


def reconcile(
    settings: Settings | None = None, tables: Sequence[str] | None = None, *, staging: bool = True
) -> list[Check]:
    """Compare every table; raises ReconciliationError listing each mismatch."""
    settings = settings or get_settings()
    chosen = select_tables(tables)
    client = connect(settings)
    source = Source(database_url(settings))
    checks: list[Check] = []
    try:
        watermarks = Watermarks(client, new_run_id("reconcile"), WarehouseDDL.from_settings(settings))
        watermarks.ensure()
        staged = set()
        if staging:
            staged = {
                r[0]
                for r in client.query(
                    "SELECT name FROM system.tables WHERE database = {d:String}", parameters={"d": STAGING_DATABASE}
                ).result_rows
            }
        with source.snapshot():
            for table in chosen:
                # catch up to this very snapshot
                load_incremental(
                    source,
                    client,
                    table,
                    watermarks,
                    batch_rows=settings.extract_batch_rows,
                    insert_rows=settings.extract_insert_rows,
                )
                operational = source.query_row(
                    f'SELECT count(*), count(deleted_at), coalesce(sum(change_seq), 0) FROM "{table.name}"'
                )
                warehouse = client.query(
                    f"SELECT count(), countIf(_is_deleted = 1), sum(_change_seq) FROM {table.qualified} FINAL"
                ).result_rows[0]
                checks.append(
                    Check(table.name, "raw", "rows, tombstones, sum(change_seq)", operational, tuple(warehouse))
                )
                model = f"stg_{table.name}"
                if model in staged:
                    live = source.query_row(
                        f'SELECT count(*), coalesce(sum(change_seq), 0) FROM "{table.name}" WHERE deleted_at IS NULL'
                    )
                    modelled = client.query(
                        f"SELECT count(), sum(_change_seq) FROM {STAGING_DATABASE}.`{model}`"
                    ).result_rows[0]
                    checks.append(Check(table.name, "staging", "live rows, sum(change_seq)", live, tuple(modelled)))
    finally:
        source.close()
        client.close()
    failed = [c for c in checks if not c.ok]
    if failed:
        raise ReconciliationError(failed)
    return checks


def checks_table(checks: Sequence[Check]) -> Table:
    table = Table("table", "layer", "measures", "operational", "warehouse", "", title="Reconciliation")
    for c in checks:
        table.add_row(
            c.table, c.layer, c.measures, str(c.operational), str(c.warehouse), "ok" if c.ok else "[red]MISMATCH"
        )
    return table
