"""CRM routes beyond CRUD: deal stage moves and batch call ingestion."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from operational_api.db import Store
from operational_api.routes.deps import IdempotencyKey, get_store, idempotent_write, require
from operational_api.schemas.common import INT64_MAX
from operational_api.schemas.crm import CallBatchIn, DealOut, StageMoveIn
from operational_api.schemas.vending import IngestOut
from operational_api.services import crm
from operational_api.services.keys import Caller

router = APIRouter(prefix="/v1", tags=["crm"])
Crm = Annotated[Caller, Depends(require("operator", "integration"))]
StoreDep = Annotated[Store, Depends(get_store)]


@router.post("/deals/{deal_id}/stage-moves", response_model=DealOut, summary="Move a deal to another stage")
def move_stage(
    deal_id: Annotated[int, Path(ge=1, le=INT64_MAX)], body: StageMoveIn, caller: Crm, store: StoreDep
) -> DealOut:
    """Changes the deal's stage (and status, for won/lost stages) and appends to its stage history."""
    with store.write() as session:
        return DealOut.model_validate(crm.move_deal(session, deal_id, body))


@router.post("/calls/batch", response_model=IngestOut, summary="Record up to 10,000 calls")
async def call_batch(
    request: Request, body: CallBatchIn, caller: Crm, store: StoreDep, key: IdempotencyKey = None
) -> Response:
    """All or nothing; each call's `external_id` makes it exactly-once."""
    return await idempotent_write(request, store, caller, key, lambda session: crm.ingest_calls(session, body.items))
