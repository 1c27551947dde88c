"""What every route depends on: the store, the caller's API key and scope, idempotent writes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.orm import Session

from operational_api.db import Store
from operational_api.security import api_key_sha256
from operational_api.services.common import Forbidden, ServiceError
from operational_api.services.idempotency import remember, replay, request_digest
from operational_api.services.keys import Caller, authenticate

bearer = HTTPBearer(auto_error=False, description="An API key from `pulse api create-key`.")


class AuthError(ServiceError):
    status = 401
    code = "unauthorized"


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


KEY_CACHE_SECONDS = 10.0


def _cached_caller(store: Store, token: str) -> Caller | None:
    """Known keys are remembered for a few seconds (by hash), sparing a query per request;
    a revoked key therefore stops working within KEY_CACHE_SECONDS."""
    digest = api_key_sha256(token)
    now = time.monotonic()
    hit = store.key_cache.get(digest)
    if hit is not None and hit[0] > now:
        cached: Caller = hit[1]
        return cached
    with store.read() as session:
        caller = authenticate(session, token)
    if caller is not None:
        if len(store.key_cache) > 10_000:
            store.key_cache.clear()
        store.key_cache[digest] = (now + KEY_CACHE_SECONDS, caller)
    return caller


def require(*scopes: str) -> Callable[..., Caller]:
    """A dependency admitting API keys with one of `scopes` (admin keys are admitted everywhere)."""
    allowed = {*scopes, "admin"}

    def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Caller:
        if credentials is None or not credentials.credentials:
            raise AuthError("missing API key: send `Authorization: Bearer <key>`")
        store = get_store(request)
        caller = _cached_caller(store, credentials.credentials)
        if caller is None:
            raise AuthError("unknown or revoked API key")
        if caller.scope not in allowed:
            raise Forbidden(f"this endpoint needs a key with scope {' or '.join(sorted(allowed))}")
        return caller

    return dependency


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Makes the request safe to retry: the same key and body get the same response; "
        "the same key with a different body is refused (409).",
    ),
]


async def idempotent_write(
    request: Request,
    store: Store,
    caller: Caller,
    key: str | None,
    handler: Callable[[Session], BaseModel],
    status_code: int = 200,
) -> Response:
    """Run `handler` in one write transaction; with an Idempotency-Key, store/replay its response there."""
    body = await request.body()
    endpoint = f"{request.method} {request.url.path}"
    digest = request_digest(body)

    def work() -> Response:
        with store.write() as session:
            if key is not None:
                hit = replay(session, key_id=caller.key_id, key=key, endpoint=endpoint, digest=digest)
                if hit is not None:
                    return Response(hit.body, hit.status_code, media_type="application/json")
            payload = handler(session).model_dump_json().encode()
            if key is not None:
                remember(
                    session,
                    key_id=caller.key_id,
                    key=key,
                    endpoint=endpoint,
                    digest=digest,
                    status_code=status_code,
                    body=payload,
                )
        return Response(payload, status_code, media_type="application/json")

    return await run_in_threadpool(work)
