"""Metrics for integrators and analysts: the metrics layer listed, and one metric asked of the warehouse as the
read-only user (grouped, filtered and for a period, all as server-side parameters).

A hospital key sees the metrics of the hospital marts only, and asks them as its hospital's warehouse identity:
the warehouse itself keeps every other hospital's rows out of the answer, whatever the filters say."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from clickhouse_connect.driver.exceptions import ClickHouseError

from operational_api.schemas.metrics import MetricOut, MetricRows
from operational_api.services.common import Forbidden, Invalid, NotFound, Unavailable
from operational_api.services.keys import Caller
from pulse import metrics
from pulse.core.console import PulseError
from pulse.core.settings import HOSPITAL_TABLES, Settings


def _out(metric: metrics.Metric) -> MetricOut:
    return MetricOut(
        name=metric.name, model=metric.model, key=metric.key, label=metric.label, label_ru=metric.label_ru,
        description=metric.description, unit=metric.unit, format=metric.format,
        dimensions=list(metric.dimensions), time_dimension=metric.time_dimension,
    )  # fmt: skip


def visible(caller: Caller) -> list[metrics.Metric]:
    """The metrics a caller may ask for: all of them, or for a hospital key those of the hospital marts."""
    every = metrics.project_metrics()
    if caller.hospital_id is None:
        return list(every)
    return [m for m in every if m.table in HOSPITAL_TABLES]


def list_metrics(caller: Caller) -> list[MetricOut]:
    return [_out(m) for m in visible(caller)]


def _json(value: Any) -> str | int | float | None:
    if isinstance(value, Decimal | dt.date):
        return str(value)
    return value


def query_metric(
    settings: Settings,
    caller: Caller,
    name: str,
    by: Sequence[str],
    where: Sequence[str],
    period: str | None,
    limit: int,
) -> MetricRows:
    from warehouse.identities import WarehouseUnavailable, hospital_client, reader_client

    own = visible(caller)
    try:
        # A name is looked up among the caller's own metrics first: `total_vends` of a hospital key is the
        # vending mart's, though the customer and KPI marts have a `total_vends` too.
        candidates = own if any(name in (m.name, m.key) for m in own) else metrics.project_metrics()
        metric = metrics.find(candidates, name)
    except PulseError as err:
        raise NotFound(f"{err}: {err.hint}") from None
    if metric not in own:
        raise Forbidden(f"metric {metric.key} is not a hospital metric; a hospital key reads only its hospital's")
    try:
        filters = metrics.parse_where(where, ":")
    except metrics.FilterError as err:
        raise Invalid("bad where", [(("query", "where", err.index), str(err))]) from None
    try:
        span = metrics.parse_period(period) if period else None
    except PulseError as err:
        raise Invalid("bad period", [(("query", "period"), f"{err}; {err.hint}")]) from None
    try:
        compiled = metrics.compile_metrics([metric], by, filters, span, limit=limit + 1)  # one more: truncated?
    except metrics.DimensionError as err:
        field = "by" if err.dimension in by else "where"
        raise Invalid(str(err), [(("query", field), f"{err}; {err.hint}")]) from None
    except PulseError as err:  # a period asked of a metric without a date dimension
        raise Invalid(str(err), [(("query", "period"), f"{err}; {err.hint}")]) from None
    try:
        client = (
            reader_client(settings) if caller.hospital_id is None else hospital_client(settings, caller.hospital_id)
        )
        result = client.query(compiled.sql, parameters=compiled.parameters)
    except (WarehouseUnavailable, ClickHouseError, OSError) as err:
        raise Unavailable(f"the warehouse could not answer: {str(err)[:300]}; try again") from None
    rows = [{c: _json(v) for c, v in zip(result.column_names, row, strict=True)} for row in result.result_rows]
    return MetricRows(metric=_out(metric), rows=rows[:limit], truncated=len(rows) > limit)
