"""Source freshness measures the pipeline, not the business: a table nobody wrote to for days is fresh while
extract-load keeps confirming it, and every table goes stale when loads stop."""

from __future__ import annotations

from extractors.load import WATERMARKS
from extractors.pipeline import extract
from pulse.dbt.runner import run_dbt
from tests.platform import Platform


def test_quiet_tables_stay_fresh_while_loads_run_and_go_stale_when_they_stop(platform: Platform) -> None:
    extract(platform.settings)
    client = platform.client()
    # Pretend the last load was three days ago: every source is past its 36-hour error_after.
    client.command(f"INSERT INTO {WATERMARKS} SELECT table_name, watermark, rows, run_id, "
                   f"updated_at - INTERVAL 3 DAY FROM {WATERMARKS}")  # fmt: skip
    client.command(f"DELETE FROM {WATERMARKS} WHERE updated_at > now() - INTERVAL 1 DAY")
    assert run_dbt(["--quiet", "source", "freshness", "--select", "source:raw.payments"], platform.settings) == 1
    # A run that finds nothing new still confirms every table up to date (the simulated history ended months ago).
    loads = extract(platform.settings)
    assert sum(load.rows for load in loads) == 0
    assert run_dbt(["--quiet", "source", "freshness"], platform.settings) == 0
