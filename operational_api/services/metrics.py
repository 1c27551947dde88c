"""Metrics for integrators and analysts: the metrics layer listed, and one metric asked of the warehouse as the
read-only user (grouped, filtered and for a period, all as server-side parameters)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from clickhouse_connect.driver.exceptions import ClickHouseError

from operational_api.schemas.metrics import MetricOut, MetricRows
from operational_api.services.common import Invalid, NotFound, Unavailable
from pulse import metrics
from pulse.console import PulseError
from pulse.settings import Settings


def _out(metric: metrics.Metric) -> MetricOut:
    return MetricOut(
        name=metric.name, model=metric.model, key=metric.key, label=metric.label, label_ru=metric.label_ru,
        description=metric.description, unit=metric.unit, format=metric.format,
        dimensions=list(metric.dimensions), time_dimension=metric.time_dimension,
    )  # fmt: skip


def list_metrics() -> list[MetricOut]:
    return [_out(m) for m in metrics.project_metrics()]


def _json(value: Any) -> str | int | float | None:
    if isinstance(value, Decimal | dt.date):
        return str(value)
    return value


def query_metric(
    settings: Settings, name: str, by: Sequence[str], where: Sequence[str], period: str | None, limit: int
) -> MetricRows:
    from reports.recipients import WarehouseUnavailable, reader_client

    try:
        metric = metrics.find(metrics.project_metrics(), name)
    except PulseError as err:
        raise NotFound(f"{err}: {err.hint}") from None
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
        result = reader_client(settings).query(compiled.sql, parameters=compiled.parameters)
    except (WarehouseUnavailable, ClickHouseError, OSError) as err:
        raise Unavailable(f"the warehouse could not answer: {str(err)[:300]}; try again") from None
    rows = [{c: _json(v) for c, v in zip(result.column_names, row, strict=True)} for row in result.result_rows]
    return MetricRows(metric=_out(metric), rows=rows[:limit], truncated=len(rows) > limit)
