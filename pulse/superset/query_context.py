"""A chart's `query_context` built from its `params` (form data), as Superset's frontend builds it.

Superset's REST API for a saved chart's data (`GET /api/v1/chart/<id>/data/`, also what reports and cache
warm-up use) runs the chart's stored `query_context`, which the frontend writes when someone saves a chart in the
UI. Charts defined as YAML would otherwise have none (or a stale one after an edit of `params`), so the importer
builds it from `params` with the same rules as the frontend's `buildQuery` of each chart type Pulse uses; the
exporter drops it again (`GENERATED`), keeping the YAML single-sourced. Other chart types keep whatever
`query_context` their YAML carries.
"""

from __future__ import annotations

from typing import Any

TIMESERIES = {"echarts_timeseries_line", "echarts_timeseries_bar", "echarts_area", "echarts_timeseries_smooth"}
CATEGORICAL = {"pie", "funnel"}
GENERATED = {"big_number_total", "big_number", "table", *TIMESERIES, *CATEGORICAL}


def supports(viz_type: str) -> bool:
    return viz_type in GENERATED


def _label(column: str | dict[str, Any]) -> str:
    return column if isinstance(column, str) else str(column.get("label") or column.get("sqlExpression"))


def _metric_label(metric: str | dict[str, Any]) -> str:
    return metric if isinstance(metric, str) else str(metric.get("label"))


def _filters(params: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Simple WHERE filters become `filters`; free SQL goes to `extras` (WHERE and HAVING), ANDed."""
    filters: list[dict[str, Any]] = []
    where: list[str] = []
    having: list[str] = []
    for adhoc in params.get("adhoc_filters") or []:
        clause = adhoc.get("clause", "WHERE")
        if adhoc.get("expressionType") == "SQL":
            (where if clause == "WHERE" else having).append(f"({adhoc['sqlExpression']})")
        elif clause == "WHERE":
            item = {"col": adhoc["subject"], "op": adhoc["operator"]}
            if "comparator" in adhoc and adhoc["operator"] not in ("IS NULL", "IS NOT NULL"):
                item["val"] = adhoc["comparator"]
            filters.append(item)
    return filters, {"having": " AND ".join(having), "where": " AND ".join(where)}


def _base_axis(params: dict[str, Any]) -> str | dict[str, Any]:
    """The x axis as the frontend sends it: temporal axes carry the time grain."""
    x_axis = params["x_axis"]
    if not isinstance(x_axis, str):
        return dict(x_axis)
    axis: dict[str, Any] = {
        "columnType": "BASE_AXIS",
        "sqlExpression": x_axis,
        "label": x_axis,
        "expressionType": "SQL",
        "isColumnReference": True,
    }
    if params.get("time_grain_sqla"):
        axis = {"timeGrain": params["time_grain_sqla"], **axis}
    return axis


def _pivot(index: str, columns: list[str], metrics: list[str], drop_missing: bool) -> list[dict[str, Any]]:
    return [
        {
            "operation": "pivot",
            "options": {
                "index": [index],
                "columns": columns,
                "aggregates": {m: {"operator": "mean"} for m in metrics},
                "drop_missing_columns": drop_missing,
            },
        },
        {"operation": "flatten"},
    ]


def build_query(params: dict[str, Any]) -> dict[str, Any]:
    """The one query object of a chart of a supported type."""
    viz = params["viz_type"]
    filters, extras = _filters(params)
    if params.get("time_grain_sqla") and viz in TIMESERIES | {"big_number"}:
        extras = {"time_grain_sqla": params["time_grain_sqla"], **extras}
    query: dict[str, Any] = {
        "filters": filters,
        "extras": extras,
        "applied_time_extras": {},
        "columns": [],
        "metrics": [],
        "annotation_layers": [],
        "series_limit": 0,
        "group_others_when_limit_reached": False,
        "order_desc": params.get("order_desc", True),
        "url_params": {},
        "custom_params": {},
        "custom_form_data": {},
    }
    groupby = list(params.get("groupby") or [])
    if viz == "big_number_total":
        query["metrics"] = [params["metric"]]
    elif viz == "big_number":
        axis = _base_axis(params)
        query.update(columns=[axis], metrics=[params["metric"]])
        query["post_processing"] = _pivot(_label(axis), [], [_metric_label(params["metric"])], True)
    elif viz in TIMESERIES:
        axis = _base_axis(params)
        metrics = list(params.get("metrics") or [])
        sort_by = params.get("timeseries_limit_metric") or metrics[0]
        query.update(
            columns=[axis, *groupby],
            metrics=metrics,
            orderby=[[sort_by, not params.get("order_desc", True)]],
            row_limit=params.get("row_limit", 10000),
            series_columns=groupby,
            series_limit=params.get("limit") or 0,
            time_offsets=[],
        )
        if params.get("limit"):
            query["series_limit_metric"] = sort_by
        query["post_processing"] = _pivot(
            _label(axis), [_label(g) for g in groupby], [_metric_label(m) for m in metrics], False
        )
    elif viz in CATEGORICAL:
        metric = params["metric"]
        query.update(
            columns=groupby,
            metrics=[metric],
            orderby=[[metric, False]] if params.get("sort_by_metric", True) else [],
            row_limit=params.get("row_limit", 100),
        )
        if viz == "pie":
            label = _metric_label(metric)
            query["post_processing"] = [
                {
                    "operation": "contribution",
                    "options": {"columns": [label], "rename_columns": [f"{label}__contribution"]},
                }
            ]
    elif viz == "table":
        if params.get("query_mode") == "raw":
            # No metrics at all, as the frontend sends it: with `metrics: []` Superset groups by the columns.
            query.update(
                metrics=None,
                columns=list(params.get("all_columns") or []),
                orderby=[list(o) for o in params.get("order_by_cols") or []],
                row_limit=params.get("row_limit", 1000),
                post_processing=[],
            )
        else:
            metrics = list(params.get("metrics") or [])
            sort_by = params.get("timeseries_limit_metric") or (metrics[0] if metrics else None)
            query.update(
                columns=groupby,
                metrics=metrics,
                orderby=[[sort_by, not params.get("order_desc", True)]] if sort_by else [],
                row_limit=params.get("row_limit", 1000),
                post_processing=[],
                time_offsets=[],
            )
            if params.get("timeseries_limit_metric"):
                query["series_limit_metric"] = params["timeseries_limit_metric"]
    else:
        raise ValueError(f"no query context rules for chart type {viz!r}")
    return query


def build(params: dict[str, Any], datasource_id: int = 0) -> dict[str, Any]:
    """The whole query context; the importer's bundle leaves the datasource id to Superset, which fixes it."""
    datasource = {"id": datasource_id, "type": "table"}
    form_data = {**params, "datasource": f"{datasource_id}__table", "force": False}
    return {
        "datasource": datasource,
        "force": False,
        "queries": [build_query(params)],
        "form_data": form_data,
        "result_format": "json",
        "result_type": "full",
    }
