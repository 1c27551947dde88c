"""Report subscriptions (admin keys) and the public unsubscribe link recipients follow from an email."""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from operational_api.db import Store
from operational_api.models import ReportSubscription
from operational_api.routes.deps import get_store, require
from operational_api.schemas.common import INT64_MAX, UNAVAILABLE, Page
from operational_api.schemas.reporting import (
    DeliveryOut,
    DeliveryState,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
)
from operational_api.services import reporting
from operational_api.services.common import NotFound
from operational_api.services.keys import Caller
from operational_api.unsubscribe import BadToken, read_token, signing_key

router = APIRouter(prefix="/v1", tags=["reports"])
Admin = Annotated[Caller, Depends(require())]  # admin keys only
StoreDep = Annotated[Store, Depends(get_store)]
SubscriptionId = Annotated[int, Path(ge=1, le=INT64_MAX, description="Subscription id.")]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size.")]
Cursor = Annotated[str | None, Query(max_length=200, description="From the previous page's next_cursor.")]


def _out(row: ReportSubscription) -> SubscriptionOut:
    return SubscriptionOut.model_validate(row).model_copy(update={"next_fire_at": reporting.next_fire_at(row)})


@router.get("/report-subscriptions", response_model=Page[SubscriptionOut], summary="List report subscriptions")
def list_subscriptions(
    caller: Admin, store: StoreDep, limit: Limit = 100, cursor: Cursor = None, include_deleted: bool = False
) -> Page[SubscriptionOut]:
    with store.read() as session:
        rows, next_cursor = reporting.list_subscriptions(
            session, limit=limit, cursor=cursor, include_deleted=include_deleted
        )
        return Page[SubscriptionOut](items=[_out(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "/report-subscriptions",
    response_model=SubscriptionOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a report subscription",
    responses=UNAVAILABLE,
)
def create_subscription(body: SubscriptionIn, caller: Admin, store: StoreDep) -> SubscriptionOut:
    """The recipient query is checked by the warehouse (as the read-only user, not run): a query that does
    not parse, reads a table that does not exist, writes, or lacks a column the report needs is a 422."""
    return _out(reporting.create_subscription(store, store.settings, body.model_dump()))


@router.get("/report-subscriptions/{subscription_id}", response_model=SubscriptionOut, summary="Get one")
def get_subscription(subscription_id: SubscriptionId, caller: Admin, store: StoreDep) -> SubscriptionOut:
    with store.read() as session:
        return _out(reporting.live_subscription(session, subscription_id))


@router.patch(
    "/report-subscriptions/{subscription_id}",
    response_model=SubscriptionOut,
    summary="Change a report subscription",
    responses=UNAVAILABLE,
)
def patch_subscription(
    subscription_id: SubscriptionId,
    body: SubscriptionPatch,  # type: ignore[valid-type]
    caller: Admin,
    store: StoreDep,
) -> SubscriptionOut:
    """Omitted fields keep their value. A new query (or report kind) is checked as on create."""
    patch: BaseModel = body
    values = patch.model_dump(exclude_unset=True)
    return _out(reporting.update_subscription(store, store.settings, subscription_id, values))


@router.delete(
    "/report-subscriptions/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete (tombstone)"
)
def delete_subscription(subscription_id: SubscriptionId, caller: Admin, store: StoreDep) -> Response:
    """The subscription stops; its delivery ledger and unsubscribes are kept."""
    reporting.delete_subscription(store, subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/report-subscriptions/{subscription_id}/deliveries",
    response_model=Page[DeliveryOut],
    summary="The delivery ledger of a subscription",
)
def list_deliveries(
    subscription_id: SubscriptionId,
    caller: Admin,
    store: StoreDep,
    state: DeliveryState | None = None,
    period: Annotated[str | None, Query(max_length=16, pattern=r"^\d{4}-(\d{2}|W\d{2})$")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[DeliveryOut]:
    """One row per statement (recipient, period): pending, sending, sent, failed, skipped or in_doubt."""
    with store.read() as session:
        rows, next_cursor = reporting.list_deliveries(
            session, subscription_id, state=state, period=period, limit=limit, cursor=cursor
        )
        return Page[DeliveryOut](items=[DeliveryOut.model_validate(r) for r in rows], next_cursor=next_cursor)


# -- unsubscribe: public (the link in every report email), no API key ---------------------------------
Token = Annotated[str, Path(min_length=1, max_length=600, description="The signed token from the email.")]
# Documented per status so that only these are HTML; validation errors (e.g. an overlong token) stay JSON.
HTML_PAGE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "Unsubscribed (a small page)"},
    400: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "Not a valid unsubscribe link"},
    404: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "The subscription is unknown"},
}


def _page(title: str, lines: list[str], status_code: int) -> HTMLResponse:
    body = "".join(f"<p>{line}</p>" for line in lines)
    return HTMLResponse(
        '<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font:16px/1.5 DejaVu Sans,Arial,sans-serif;max-width:36em;margin:4em auto;padding:0 1em}"
        "</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>",
        status_code=status_code,
    )


def _bad_link(err: Exception) -> HTMLResponse:
    return _page(
        "Link not valid / Ссылка недействительна",
        [html.escape(str(err)), "Use the link from the latest email. / Воспользуйтесь ссылкой из последнего письма."],
        400,
    )


def _unsubscribe(token: str, store: Store) -> HTMLResponse:
    try:
        subscription_id, email = read_token(signing_key(store.settings), token)
    except BadToken as err:
        return _bad_link(err)
    try:
        name = reporting.record_unsubscribe(store, subscription_id, email)
    except NotFound as err:
        return _page("Unknown subscription / Рассылка не найдена", [html.escape(err.message)], 404)
    who, what = html.escape(email), html.escape(name)
    return _page(
        "Unsubscribed / Вы отписались",
        [
            f"<b>{who}</b> will receive nothing more from <b>{what}</b>.",
            f"Адрес <b>{who}</b> больше не будет получать рассылку <b>{what}</b>.",
        ],
        200,
    )


@router.get(
    "/unsubscribe/{token}",
    responses=HTML_PAGE,
    summary="Unsubscribe (the link in a report email)",
)
def unsubscribe_link(token: Token, store: StoreDep) -> HTMLResponse:
    """Asks the recipient to confirm, with a button that POSTs the same link. A GET changes nothing: mail
    scanners follow links, and must not unsubscribe people (RFC 8058: the unsubscribing request is a POST)."""
    try:
        _, email = read_token(signing_key(store.settings), token)
    except BadToken as err:
        return _bad_link(err)
    action = html.escape(f"/v1/unsubscribe/{token}")
    who = html.escape(email)
    return _page(
        "Unsubscribe? / Отписаться?",
        [
            f"Confirm that <b>{who}</b> wants no more of these reports.",
            f"Подтвердите, что адрес <b>{who}</b> больше не должен получать эти отчёты.",
            f'<form method="post" action="{action}"><button type="submit">Unsubscribe / Отписаться</button></form>',
        ],
        200,
    )


@router.post(
    "/unsubscribe/{token}",
    responses=HTML_PAGE,
    summary="One-click unsubscribe (RFC 8058, List-Unsubscribe-Post)",
)
def unsubscribe_one_click(token: Token, store: StoreDep) -> HTMLResponse:
    """Records that this address wants nothing more from this subscription: the confirm page's button, and what
    mail clients call for their own (`List-Unsubscribe=One-Click`). Public: the token, signed by the server, is
    the authority. Sending it again changes nothing."""
    return _unsubscribe(token, store)
