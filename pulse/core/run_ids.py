"""Run ids: what names one run of an extract-load or a report subscription in the logs, the extraction log and the
delivery ledger (Airflow's own runs use Airflow's run_id)."""

from __future__ import annotations

import datetime as dt
import uuid


def new_run_id(prefix: str) -> str:
    """`<prefix>-<UTC time>-<8 hex>`: sorts by time within a prefix, unique across processes."""
    return f"{prefix}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
