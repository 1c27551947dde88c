"""The operational API application: routes under /v1, one error shape, body size limit, schema check."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from operational_api.db import Store
from operational_api.migrate import check_migrated
from operational_api.routes import alerts as alert_routes
from operational_api.routes import crm as crm_routes
from operational_api.routes import metrics as metrics_routes
from operational_api.routes import reporting as reporting_routes
from operational_api.routes import vending as vending_routes
from operational_api.routes.crud import router_for
from operational_api.schemas.common import ErrorBody
from operational_api.services.common import MAX_REPORTED_FIELDS, ServiceError
from operational_api.services.resources import RESOURCES
from pulse.core.settings import Settings, get_settings

log = logging.getLogger("pulse.api")

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        400: "Bad request",
        401: "Missing or unknown API key",
        403: "The key's scope does not allow this",
        404: "Not found",
        409: "Conflicts with stored data (or an Idempotency-Key reused with another body)",
        413: "Request body too large",
        422: "Invalid input: `fields` says where and why",
    }.items()
}


def error_response(status: int, code: str, message: str, fields: list[dict[str, Any]] | None = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "fields": fields or []}}
    return JSONResponse(body, status_code=status)


class BodyLimit:
    """Refuse request bodies over the limit with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        too_large = error_response(413, "too_large", f"the request body exceeds {self.max_bytes} bytes")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await error_response(400, "bad_request", "bad Content-Length")(scope, receive, send)
                return
            if declared > self.max_bytes:
                await too_large(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        # No Content-Length (chunked): buffer up to the limit, then replay.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await too_large(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _loc(loc: tuple[Any, ...] | list[Any]) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


def create_app(store: Store | None = None, settings: Settings | None = None, check_schema: bool = True) -> FastAPI:
    settings = settings or get_settings()
    own_store = store is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if check_schema:
            check_migrated(app.state.store.write_engine)
        yield
        if own_store:
            app.state.store.dispose()

    app = FastAPI(
        title="Pulse operational API",
        version="1.0.0",
        description="Vending (hospitals, machines, customers, ledger, vends) and CRM (contacts, leads, deals, "
        "appointments, calls, messages, campaigns, invoices) for Pulse. Authenticate with "
        "`Authorization: Bearer <key>`; every error has the shape `{error: {code, message, fields}}`.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.state.store = store or Store(settings=settings)

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, err: ServiceError) -> JSONResponse:
        fields = [{"loc": _loc(loc), "reason": reason} for loc, reason in err.fields]
        return error_response(err.status, err.code, err.message, fields)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, err: RequestValidationError) -> JSONResponse:
        # Only where and why: never echo the submitted values (they may hold a PIN).
        errors = err.errors()
        fields = [{"loc": _loc(e.get("loc", ())), "reason": str(e.get("msg", "invalid"))} for e in errors]
        return error_response(422, "invalid", "the request is invalid", fields[:MAX_REPORTED_FIELDS])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}
        response = error_response(err.status_code, codes.get(err.status_code, "http_error"), str(err.detail))
        if err.headers:
            response.headers.update(err.headers)
        return response

    @app.exception_handler(Exception)
    async def internal_error(request: Request, err: Exception) -> JSONResponse:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=err)
        return error_response(500, "internal", "internal error")

    app.include_router(vending_routes.router)
    app.include_router(crm_routes.router)
    app.include_router(reporting_routes.router)
    app.include_router(metrics_routes.router)
    app.include_router(alert_routes.router)
    for res in RESOURCES:
        app.include_router(router_for(res))

    @app.get("/healthz", tags=["meta"], summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)
    return app
