"""The API process's application: the operational API, the report actions that need the renderer (reports/routes.py)
and the portal's pages, one process and one port (`pulse portal serve`; `pulse up` runs it as the api service).

The operational API alone (`pulse api serve`) is the same app without the last two, for a deployment that only
ingests.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from operational_api.app import create_app as create_api
from operational_api.db import Store
from pulse.core.settings import Settings, get_settings
from pulse.portal import alert_pages, pages
from pulse.portal.messages import translator
from reports import routes as report_routes

STATIC = Path(__file__).parent / "static"


def create_app(store: Store | None = None, settings: Settings | None = None, check_schema: bool = True) -> FastAPI:
    app = create_api(store=store, settings=settings or get_settings(), check_schema=check_schema)
    app.include_router(report_routes.router)
    app.include_router(pages.router)
    app.include_router(alert_pages.router)
    app.mount("/portal/static", StaticFiles(directory=STATIC), name="portal-static")

    @app.exception_handler(pages.Redirect)
    async def redirect(request: Request, err: pages.Redirect) -> Response:
        return RedirectResponse(err.url, status_code=303)

    @app.exception_handler(pages.Refused)
    async def refused(request: Request, err: pages.Refused) -> HTMLResponse:
        t = translator(pages._locale(request))
        key, _, detail = err.key.partition(":")
        if key in ("bad_link", "bad_alert_link"):  # a recipient's page, an alert's: each its own hint
            return pages.render(request, "message.html", err.status, title=t("bad_link"),
                                lines=[detail, t(f"{key}_hint")])  # fmt: skip
        return pages.render(request, "message.html", err.status, title=t(key), lines=[])

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse("/portal/", status_code=303)

    return app
