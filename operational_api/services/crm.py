"""CRM logic beyond plain CRUD: deal stage moves with their append-only history, call ingestion, NPS answers,
insurers' refusals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from operational_api.models import (
    Call,
    Deal,
    DealStageHistory,
    Invoice,
    InvoiceRefusal,
    PipelineStage,
    stamp_rows,
    table_of,
    utcnow,
)
from operational_api.models.crm import funnel_step_conflict
from operational_api.schemas.crm import CallBatchItem, StageMoveIn
from operational_api.schemas.vending import IngestOut
from operational_api.services.common import Invalid, Loc, NotFound, check_references, default_to_business_currency
from operational_api.services.vending import check_duplicates, dedupe, insert_ignore


def _stage(session: Session, stage_id: int, pipeline_id: int, loc: Loc) -> PipelineStage:
    stage = session.get(PipelineStage, stage_id)
    if stage is None or stage.deleted_at is not None or stage.pipeline_id != pipeline_id:
        raise Invalid("bad stage", [(loc, f"no stage {stage_id} in pipeline {pipeline_id}")])
    return stage


def _status_for(stage: PipelineStage) -> str:
    return "won" if stage.is_won else "lost" if stage.is_lost else "open"


def pipeline_stage_before_write(session: Session, values: dict[str, Any], existing: Any) -> dict[str, Any]:
    """A change to a stage keeps its funnel step consistent with its outcome (PATCH bodies carry no model
    validator: the rule is judged on the stage as it will be stored)."""
    merged = {
        name: values[name] if name in values else getattr(existing, name, None)
        for name in ("funnel_step", "is_won", "is_lost")
    }
    problem = funnel_step_conflict(merged["funnel_step"], is_won=merged["is_won"], is_lost=merged["is_lost"])
    if problem is not None:
        raise Invalid("the funnel step contradicts the stage's outcome", [(("body", "funnel_step"), problem)])
    return values


def _as_stored(values: dict[str, Any], existing: Any, *names: str) -> dict[str, Any]:
    """The fields as the row will be stored: submitted values over the existing row's (PATCH bodies are partial)."""
    return {name: values[name] if name in values else getattr(existing, name, None) for name in names}


def message_before_write(session: Session, values: dict[str, Any], existing: Any) -> dict[str, Any]:
    """Only an NPS survey carries a score; the answer usually arrives later, as a PATCH of the stored survey."""
    merged = _as_stored(values, existing, "purpose", "nps_score")
    if merged["nps_score"] is not None and (merged["purpose"] or "other") != "nps_survey":
        raise Invalid(
            "only an NPS survey carries a score",
            [(("body", "nps_score"), f"the message's purpose is {merged['purpose'] or 'other'}, not nps_survey")],
        )
    return values


def _refused(session: Session, invoice_id: int, except_refusal: int | None = None) -> Any:
    """What the invoice's live refusals add up to (0 without any), leaving one out (the one being rewritten)."""
    return session.scalar(
        select(func.coalesce(func.sum(InvoiceRefusal.amount), 0)).where(
            InvoiceRefusal.invoice_id == invoice_id,
            InvoiceRefusal.deleted_at.is_(None),
            InvoiceRefusal.id != (except_refusal if except_refusal is not None else -1),
        )
    )


def invoice_before_write(session: Session, values: dict[str, Any], existing: Any) -> dict[str, Any]:
    """An invoice its counterparty refused in part keeps its currency and direction (the refusals are in that
    currency, of a receivable) and is never less than what was refused."""
    if existing is None:
        return values
    refused = _refused(session, existing.id)
    if not refused:
        return values
    merged = _as_stored(values, existing, "currency", "direction", "amount")
    already = f"{refused} {existing.currency} of invoice {existing.id} was refused"
    for field in ("currency", "direction"):
        if merged[field] != getattr(existing, field):
            raise Invalid("the invoice has refusals", [(("body", field), f"{already}: its {field} cannot change")])
    if merged["amount"] < refused:
        raise Invalid("the invoice has refusals", [(("body", "amount"), f"{already}: it cannot be less")])
    return values


def invoice_refusal_before_write(session: Session, values: dict[str, Any], existing: Any) -> dict[str, Any]:
    """A refusal is of a live, issued receivable invoice, in its currency (the default), for a positive amount that, with
    the invoice's other refusals, does not exceed the invoice."""
    values = dict(values)
    merged = _as_stored(values, existing, "invoice_id", "amount", "currency")
    invoice = session.get(Invoice, merged["invoice_id"])
    if invoice is None or invoice.deleted_at is not None:
        raise Invalid("no such invoice", [(("body", "invoice_id"), f"no invoice {merged['invoice_id']}")])
    if invoice.direction != "receivable":
        raise Invalid(
            "only a receivable invoice can be refused",
            [(("body", "invoice_id"), f"invoice {invoice.id} is {invoice.direction}: the company owes it")],
        )
    if merged["currency"] is None:
        values["currency"] = invoice.currency
    elif merged["currency"] != invoice.currency:
        raise Invalid(
            "a refusal is in its invoice's currency",
            [(("body", "currency"), f"invoice {invoice.id} is in {invoice.currency}, not {merged['currency']}")],
        )
    if invoice.status in ("draft", "cancelled"):
        reason = f"invoice {invoice.id} is {invoice.status}: nobody owes it yet"
        raise Invalid("only an issued invoice can be refused", [(("body", "invoice_id"), reason)])
    if merged["amount"] <= 0:
        raise Invalid("bad amount", [(("body", "amount"), "a refused amount is positive")])
    others = _refused(session, invoice.id, except_refusal=existing.id if existing is not None else None)
    if others + merged["amount"] > invoice.amount:
        already = f"invoice {invoice.id} is {invoice.amount} {invoice.currency}, {others} of it refused already"
        raise Invalid("refused more than invoiced", [(("body", "amount"), already)])
    return values


def deal_before_write(session: Session, values: dict[str, Any], existing: Any) -> dict[str, Any]:
    """New deals enter their stage now; an upsert that changes the stage is a stage move. No currency: the
    business's."""
    values = default_to_business_currency(session, values, existing)
    pipeline_id: Any = values.get("pipeline_id", existing.pipeline_id if existing is not None else None)
    if "stage_id" in values:
        stage = _stage(session, values["stage_id"], pipeline_id, ("body", "stage_id"))
        if existing is None or existing.stage_id != stage.id:
            now = utcnow()
            values["status"] = _status_for(stage)
            values["stage_changed_at"] = now
            values["closed_at"] = now if stage.is_won or stage.is_lost else None
    elif existing is not None and "pipeline_id" in values and values["pipeline_id"] != existing.pipeline_id:
        raise Invalid("bad pipeline", [(("body", "pipeline_id"), "move the deal to a stage of the new pipeline")])
    return values


def deal_after_write(session: Session, deal: Any, submitted: dict[str, Any], created: bool) -> None:
    """Write a history row when a deal is created or its stage changed (upsert path)."""
    history = session.execute(
        select(DealStageHistory.to_stage_id)
        .where(DealStageHistory.deal_id == deal.id)
        .order_by(DealStageHistory.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if history != deal.stage_id:
        session.add(
            DealStageHistory(
                deal_id=deal.id,
                from_stage_id=history,
                to_stage_id=deal.stage_id,
                operator_id=deal.operator_id,
                changed_at=deal.stage_changed_at or utcnow(),
            )
        )


def move_deal(session: Session, deal_id: int, move: StageMoveIn) -> Deal:
    deal = session.get(Deal, deal_id)
    if deal is None or deal.deleted_at is not None:
        raise NotFound(f"no deal with id {deal_id}")
    stage = _stage(session, move.stage_id, deal.pipeline_id, ("body", "stage_id"))
    check_references(session, DealStageHistory, [{"operator_id": move.operator_id}])
    when: dt.datetime = move.changed_at or utcnow()
    previous = deal.stage_id
    deal.stage_id = stage.id
    deal.status = _status_for(stage)
    deal.stage_changed_at = when
    deal.closed_at = when if stage.is_won or stage.is_lost else None
    session.add(
        DealStageHistory(
            deal_id=deal.id,
            from_stage_id=previous,
            to_stage_id=stage.id,
            operator_id=move.operator_id,
            changed_at=when,
            comment=move.comment,
        )
    )
    session.flush()
    return deal


CALL_COMPARED = ("direction", "operator_id", "contact_id", "started_at", "duration_seconds", "outcome")


def ingest_calls(session: Session, items: Sequence[CallBatchItem], *, loc: Loc = ("body", "items")) -> IngestOut:
    """Store calls exactly once each by their telephony ID (all-or-nothing)."""
    items = dedupe(items, "external_id", loc)
    rows = [item.model_dump() for item in items]
    check_references(session, Call, rows, loc, batch=True)
    stamp_rows(session.connection(), rows)
    inserted = insert_ignore(session, table_of(Call), rows, "external_id")
    duplicates = check_duplicates(session, Call, rows, inserted, CALL_COMPARED, loc, key="external_id")
    return IngestOut(received=len(rows), created=len(inserted), duplicates=duplicates)
