"""Acting on alerts (admin keys): acknowledge (no more reminders), resolve, and what was sent about one. Rules are
the generic /v1/alert-rules resource; the alert log is /v1/alerts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy import select

from operational_api.db import Store
from operational_api.models import AlertNotification, utcnow
from operational_api.routes.deps import get_store, require
from operational_api.schemas.alerts import AlertNotificationOut, AlertStateOut
from operational_api.schemas.common import INT64_MAX
from operational_api.services import alerting
from operational_api.services.keys import Caller

router = APIRouter(prefix="/v1", tags=["alerts"])
Admin = Annotated[Caller, Depends(require())]
StoreDep = Annotated[Store, Depends(get_store)]
AlertId = Annotated[int, Path(ge=1, le=INT64_MAX, description="Alert id.")]


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertStateOut, summary="Acknowledge an alert")
def acknowledge(alert_id: AlertId, caller: Admin, store: StoreDep) -> AlertStateOut:
    """Someone is on it: reminders stop. Idempotent."""
    return AlertStateOut.model_validate(alerting.act(store, alert_id, "acknowledge", f"api:{caller.name}", utcnow()))


@router.post("/alerts/{alert_id}/resolve", response_model=AlertStateOut, summary="Resolve an alert")
def resolve(alert_id: AlertId, caller: Admin, store: StoreDep) -> AlertStateOut:
    """Closed by hand; if the condition still holds, its rule raises it again after the cooldown. Idempotent."""
    return AlertStateOut.model_validate(alerting.act(store, alert_id, "resolve", f"api:{caller.name}", utcnow()))


@router.get(
    "/alerts/{alert_id}/notifications", response_model=list[AlertNotificationOut], summary="What was sent about it"
)
def notifications(alert_id: AlertId, caller: Admin, store: StoreDep) -> list[AlertNotificationOut]:
    with store.read() as session:
        alerting.get(session, alert_id)
        rows = session.scalars(
            select(AlertNotification).where(AlertNotification.alert_id == alert_id).order_by(AlertNotification.id)
        ).all()
        return [AlertNotificationOut.model_validate(row) for row in rows]
