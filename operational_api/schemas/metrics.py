"""The metrics layer as the API shows it (pulse/metrics.py declares every metric)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class MetricOut(BaseModel):
    name: str
    model: str = Field(description="The mart the metric is computed on.")
    key: str = Field(description="model.name: unique across the marts (ask by it where a name is on several).")
    label: str
    label_ru: str
    description: str | None
    unit: str = Field(description="money (reporting currency), count, ratio, seconds or minutes.")
    format: str = Field(description="d3-format, as dashboards show it.")
    dimensions: list[str] = Field(description="What `by` and `where` accept.")
    time_dimension: str | None = Field(description="The date `period` filters on.")


class MetricRows(BaseModel):
    metric: MetricOut
    rows: list[dict[str, str | int | float | None]] = Field(
        description="One row per group: the `by` dimensions and the metric under its name. Money is an exact "
        "decimal string, ratios are floats."
    )
    truncated: bool = Field(description="More groups than `limit`: narrow with `where` or `period`.")
