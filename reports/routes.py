"""The report actions in the API (admin keys), as the portal offers them: a subscription's recipients, a preview
PDF for one of them, send now (everyone or one address, any period: a backfill), requeue. They render, so they live
here rather than in operational_api; pulse/portal/app.py mounts them in the API process."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, Field

from operational_api.db import Store
from operational_api.routes.deps import get_store, require
from operational_api.schemas.common import INT64_MAX, UNAVAILABLE
from operational_api.services.common import NotFound
from operational_api.services.keys import Caller
from pulse.core.console import PulseError
from reports import ledger, on_demand
from reports.delivery import Subscription, find_subscription

router = APIRouter(prefix="/v1", tags=["reports"])
Admin = Annotated[Caller, Depends(require())]
StoreDep = Annotated[Store, Depends(get_store)]
SubscriptionId = Annotated[int, Path(ge=1, le=INT64_MAX, description="Subscription id.")]
Period = Annotated[str | None, Field(default=None, max_length=16, description="YYYY-MM or YYYY-Www; default: latest.")]


class RecipientOut(BaseModel):
    key: str = Field(description="Names the row in a preview: email, and the id when the email has several rows.")
    email: str
    locale: str
    name: str | None
    recipient_id: str | None


class RecipientsOut(BaseModel):
    count: int
    items: list[RecipientOut]


class SendIn(BaseModel):
    period: Period
    email: Annotated[str | None, Field(default=None, max_length=254, description="Only this recipient.")]


class SendOut(BaseModel):
    run_id: str
    periods: str
    recipients: int = Field(description="Rows the recipient query returned (after the email filter).")
    added: int = Field(description="Statements new to the ledger; the rest were planned (or sent) before.")
    states: dict[str, int] = Field(description="Ledger rows this run planned or tried, by state.")
    failures: list[tuple[str, str, str]] = Field(description="(email, period, reason) left failed or in doubt.")


class RequeueIn(BaseModel):
    period: Period
    email: Annotated[str | None, Field(default=None, max_length=254)]
    in_doubt: bool = Field(default=True, description="Also rows in doubt (they may have arrived: same Message-ID).")


class RequeueOut(BaseModel):
    requeued: int


def _subscription(store: Store, subscription_id: int) -> Subscription:
    try:
        return find_subscription(store, subscription_id)
    except PulseError:
        raise NotFound(f"no report subscription with id {subscription_id}") from None


@router.get("/report-subscriptions/{subscription_id}/recipients", response_model=RecipientsOut, responses=UNAVAILABLE,
            summary="Who the next run would send to")  # fmt: skip
def recipients(
    subscription_id: SubscriptionId,
    caller: Admin,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> RecipientsOut:
    people = on_demand.recipients(store.settings, _subscription(store, subscription_id))
    items = [RecipientOut(key=p.key, email=p.email, locale=p.locale, name=p.name, recipient_id=p.recipient_id)
             for p in people[:limit]]  # fmt: skip
    return RecipientsOut(count=len(people), items=items)


@router.get(
    "/report-subscriptions/{subscription_id}/preview.pdf",
    responses={200: {"content": {"application/pdf": {}}, "description": "The statement, rendered now"}},
    summary="Preview one recipient's statement",
)
def preview(
    subscription_id: SubscriptionId,
    caller: Admin,
    store: StoreDep,
    recipient: Annotated[str, Query(min_length=3, max_length=400, description="A recipient's `key`.")],
    period: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """Nothing is recorded or sent."""
    report = on_demand.preview(store, _subscription(store, subscription_id), recipient=recipient,
                               period=period)  # fmt: skip
    return Response(report.pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{report.filename}"'})  # fmt: skip


@router.post("/report-subscriptions/{subscription_id}/send", response_model=SendOut, responses=UNAVAILABLE,
             summary="Send now, or backfill a past period")  # fmt: skip
def send(subscription_id: SubscriptionId, body: SendIn, caller: Admin, store: StoreDep) -> SendOut:
    """Plans the period for everyone (or `email`) and sends what the ledger has not sent: repeating it, or a
    scheduled run of the same period, never sends a statement twice."""
    report = on_demand.send_now(store.settings, _subscription(store, subscription_id), period=body.period,
                                email=body.email)  # fmt: skip
    plan = report.plan
    return SendOut(run_id=report.run_id, periods=plan.periods if plan else "", recipients=plan.recipients if plan else 0,
                   added=plan.added if plan else 0, states=report.states, failures=report.failures)  # fmt: skip


@router.post("/report-subscriptions/{subscription_id}/requeue", response_model=RequeueOut,
             summary="Requeue statements that failed for good or are in doubt")  # fmt: skip
def requeue(subscription_id: SubscriptionId, body: RequeueIn, caller: Admin, store: StoreDep) -> RequeueOut:
    sub = _subscription(store, subscription_id)
    states = on_demand.REQUEUE_STATES if body.in_doubt else ("failed",)
    return RequeueOut(requeued=ledger.requeue(store, sub.id, states=states, period=body.period, email=body.email))
