"""The metrics layer for integrators and analysts (integration and admin keys) and hospitals (their own rows)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from operational_api.db import Store
from operational_api.routes.deps import get_store, require
from operational_api.schemas.common import UNAVAILABLE
from operational_api.schemas.metrics import MetricOut, MetricRows
from operational_api.services import metrics
from operational_api.services.keys import Caller

router = APIRouter(prefix="/v1", tags=["metrics"])
Reader = Annotated[Caller, Depends(require("integration", "hospital"))]
StoreDep = Annotated[Store, Depends(get_store)]


@router.get("/metrics", response_model=list[MetricOut], summary="Every metric of the metrics layer")
def list_metrics(caller: Reader) -> list[MetricOut]:
    return metrics.list_metrics(caller)


@router.get(
    "/metrics/{name}", response_model=MetricRows, summary="One metric from the warehouse", responses=UNAVAILABLE
)
def query_metric(
    caller: Reader,
    store: StoreDep,
    name: Annotated[str, Path(max_length=200, description="Metric name, or model.name.")],
    by: Annotated[list[str], Query(max_length=10, description="Group by these dimensions.")] = [],  # noqa: B006
    where: Annotated[list[str], Query(max_length=20, description="DIMENSION:VALUE filters.")] = [],  # noqa: B006
    period: Annotated[str | None, Query(max_length=40, description="YYYY-MM or YYYY-MM-DD..YYYY-MM-DD.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="At most this many groups.")] = 1000,
) -> MetricRows:
    """Computed from the metric's one definition, as the warehouse's read-only user."""
    return metrics.query_metric(store.settings, caller, name, by, where, period, limit)
