"""Machine traffic and money: vend authorisation, vend and top-up ingestion, adjustments, balances."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from operational_api.db import Store
from operational_api.routes.deps import IdempotencyKey, get_store, idempotent_write, require
from operational_api.schemas.common import INT64_MAX
from operational_api.schemas.vending import (
    AdjustmentIn,
    AuthoriseIn,
    AuthoriseOut,
    BalanceOut,
    CustomerOut,
    IngestOut,
    TopupBatchIn,
    TopupIn,
    VendBatchIn,
    VendIn,
)
from operational_api.services import vending
from operational_api.services.common import Loc, ServiceError
from operational_api.services.crud import get_row
from operational_api.services.keys import Caller
from operational_api.services.resources import BY_NAME

router = APIRouter(prefix="/v1", tags=["vending"])
CustomerId = Annotated[int, Path(ge=1, le=INT64_MAX)]
Machine = Annotated[Caller, Depends(require("machine"))]
TopupCaller = Annotated[Caller, Depends(require("portal", "operator", "integration"))]
StoreDep = Annotated[Store, Depends(get_store)]


def one(ingest: Callable[..., IngestOut], item: object) -> Callable[[Session], IngestOut]:
    """Ingest a one-item request with the batch code; its errors name the body's fields (["body", "currency"]),
    not those of an item 0 the caller never sent."""

    def handler(session: Session) -> IngestOut:
        try:
            return ingest(session, [item], loc=("body",))
        except ServiceError as err:
            err.fields = [(_unindexed(loc), reason) for loc, reason in err.fields]
            raise

    return handler


def _unindexed(loc: Loc) -> Loc:
    return (loc[0], *loc[2:]) if len(loc) >= 2 and loc[1] == 0 else loc


@router.post("/vend-authorisations", response_model=AuthoriseOut, summary="Authorise one vend")
async def authorise(
    request: Request, body: AuthoriseIn, caller: Machine, store: StoreDep, key: IdempotencyKey = None
) -> Response:
    """Approve or decline: unknown customer/product, blocked, bad PIN, PIN locked (after 5 bad PINs,
    which also raises an alert), no price (none in the account's currency), out of stock, insufficient funds.
    Price and balance are both in the account's currency. The PIN is checked, never stored."""
    prepared = await run_in_threadpool(vending.prepare_authorisation, store, body)
    return await idempotent_write(
        request, store, caller, key, lambda session: vending.decide_authorisation(session, prepared)
    )


@router.post("/vend-transactions", response_model=IngestOut, summary="Record one vend")
async def vend(
    request: Request, body: VendIn, caller: Machine, store: StoreDep, key: IdempotencyKey = None
) -> Response:
    return await idempotent_write(request, store, caller, key, one(vending.ingest_vends, body))


@router.post("/vend-transactions/batch", response_model=IngestOut, summary="Record up to 10,000 vends")
async def vend_batch(
    request: Request, body: VendBatchIn, caller: Machine, store: StoreDep, key: IdempotencyKey = None
) -> Response:
    """All or nothing. Each vend's client `id` makes it exactly-once: offline machines may upload
    buffered vends late, out of order and repeatedly. A vend in another currency than its customer's
    account refuses the whole batch (422 naming the item's `currency`)."""
    return await idempotent_write(
        request, store, caller, key, lambda session: vending.ingest_vends(session, body.items)
    )


@router.post("/topups", response_model=IngestOut, summary="Credit one top-up")
async def topup(
    request: Request, body: TopupIn, caller: TopupCaller, store: StoreDep, key: IdempotencyKey = None
) -> Response:
    return await idempotent_write(request, store, caller, key, one(vending.ingest_topups, body))


@router.post("/topups/batch", response_model=IngestOut, summary="Credit up to 10,000 top-ups")
async def topup_batch(
    request: Request, body: TopupBatchIn, caller: TopupCaller, store: StoreDep, key: IdempotencyKey = None
) -> Response:
    """All or nothing; each top-up's `entry_id` makes it exactly-once. A top-up in another currency than
    its customer's account refuses the whole batch (422 naming the item's `currency`)."""
    return await idempotent_write(
        request, store, caller, key, lambda session: vending.ingest_topups(session, body.items)
    )


@router.post("/account-entries/adjustments", response_model=IngestOut, summary="Refund or adjust an account")
async def adjust(
    request: Request,
    body: AdjustmentIn,
    caller: Annotated[Caller, Depends(require("admin"))],
    store: StoreDep,
    key: IdempotencyKey = None,
) -> Response:
    return await idempotent_write(request, store, caller, key, lambda session: vending.record_adjustment(session, body))


@router.get("/customers/{customer_id}/balance", response_model=BalanceOut, summary="A customer's balance")
def customer_balance(
    customer_id: CustomerId,
    caller: Annotated[Caller, Depends(require("portal", "operator"))],
    store: StoreDep,
) -> BalanceOut:
    """The sum of the customer's ledger entries, in the account's currency."""
    with store.read() as session:
        customer = get_row(session, BY_NAME["customers"], customer_id)
        return BalanceOut(
            customer_id=customer_id, balance=vending.balance(session, customer_id), currency=customer.currency
        )


@router.post("/customers/{customer_id}/unlock", response_model=CustomerOut, summary="Clear a PIN lockout")
def unlock(
    customer_id: CustomerId,
    caller: Annotated[Caller, Depends(require("operator"))],
    store: StoreDep,
) -> CustomerOut:
    with store.write() as session:
        return CustomerOut.model_validate(vending.unlock_customer(session, customer_id))
