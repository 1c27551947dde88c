"""Row counts of the operational tables (what a run left behind)."""

from __future__ import annotations

from sqlalchemy import func, select

from operational_api.db import Store
from operational_api.models import Base


def table_counts(store: Store) -> dict[str, int]:
    counts: dict[str, int] = {}
    with store.read() as session:
        for table in Base.metadata.sorted_tables:
            if table.info.get("extract", True):
                counts[table.name] = int(session.execute(select(func.count()).select_from(table)).scalar_one())
    return counts
