"""The portal's pages: server-rendered HTML for report managers, sales reps and recipients.

Routes stay thin: they read the form, call the same services the API calls (operational_api.services.reporting,
.audiences, .recipients; reports.on_demand) and render a template. Every POST checks a CSRF token; every staff
page checks the role before it reads anything. Handlers are plain functions (FastAPI runs them in its thread pool):
a send or a scrypt check must never hold up the event loop that serves the ingest API in the same process; only
reading the posted form is async (the `Posted` dependency).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select

from operational_api.db import Store
from operational_api.models import (
    ATTACHMENT_FORMATS,
    DELIVERY_STATES,
    REPORT_KINDS,
    ReportDelivery,
    ReportSubscription,
    SalesRep,
    utcnow,
)
from operational_api.schemas.reporting import TEXT_LIMITS
from operational_api.services import recipients as recipient_service
from operational_api.services import reporting
from operational_api.services.audiences import AUDIENCES, CUSTOM, PRESETS
from operational_api.services.common import Invalid, ServiceError
from operational_api.unsubscribe import BadToken, read_recipient_token, signing_key
from pulse.core.console import PulseError
from pulse.core.report_kinds import spec_for
from pulse.core.schedule import FREQUENCIES, WEEKDAYS, HumanSchedule, check_cron, check_time_zone, next_fires
from pulse.core.vocabulary import LOCALES
from pulse.portal import auth
from pulse.portal.messages import translator
from reports import ledger, on_demand
from reports.delivery import Subscription, find_subscription

HERE = Path(__file__).parent
router = APIRouter(prefix="/portal", include_in_schema=False)
templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True))
LEDGER_PAGE = 50
MAX_PAGE = 10_000
RECIPIENTS_SHOWN = 10
RECIPIENTS_LISTED = 200  # in the preview and send-to choices; the API lists any of them
NOTICE_COOKIE = "pulse_notice"
SECURE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the recipient's link is a credential: never leak it in a Referer
    "Cache-Control": "no-store",
}


class Redirect(Exception):
    def __init__(self, url: str) -> None:
        self.url = url


class Refused(Exception):
    def __init__(self, status: int, key: str) -> None:
        self.status = status
        self.key = key


async def posted(request: Request) -> dict[str, Any]:
    """The posted form, read without blocking (the handler then runs in the thread pool)."""
    form = await request.form()
    return {key: form.getlist(key) if key == "attachments" else form.get(key) for key in form}


Posted = Annotated[dict[str, Any], Depends(posted)]


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _address(request: Request) -> str:
    """The client's address; behind a proxy, uvicorn takes it from X-Forwarded-For when FORWARDED_ALLOW_IPS
    trusts the proxy (docs/production.md), else every client would share the proxy's."""
    return request.client.host if request.client else "unknown"


def _secure_cookie(request: Request) -> bool:
    public = _store(request).settings.reports_public_url or ""
    return request.url.scheme == "https" or public.startswith("https://")


def _locale(request: Request, user: auth.StaffUser | None = None) -> str:
    if user is not None:
        return user.locale
    chosen = request.cookies.get("pulse_lang", "")
    if chosen in LOCALES:
        return chosen
    accept = request.headers.get("accept-language", "")
    return "ru" if accept.lower().startswith("ru") else "en"


def _notice_mac(request: Request, text: str) -> str:
    key = auth.portal_key(_store(request).settings)
    return hmac.new(key, b"pulse-notice\x00" + text.encode(), hashlib.sha256).hexdigest()[:32]


def redirect_with_notice(request: Request, url: str, notice: str) -> RedirectResponse:
    """Redirect, carrying a message for the next page in a signed cookie (not in the URL, where anybody could
    write one that looks like ours)."""
    response = RedirectResponse(url, status_code=303)
    if notice:
        value = f"{_notice_mac(request, notice)}.{quote(notice)}"
        response.set_cookie(NOTICE_COOKIE, value, httponly=True, samesite="strict", path="/portal",
                            secure=_secure_cookie(request), max_age=60)  # fmt: skip
    return response


def _notice(request: Request) -> str:
    mac, _, text = request.cookies.get(NOTICE_COOKIE, "").partition(".")
    notice = unquote(text)
    return notice if text and hmac.compare_digest(mac.encode(), _notice_mac(request, notice).encode()) else ""


def render(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    user = values.get("user")
    locale = values.pop("locale", None) or _locale(request, user)
    token = request.cookies.get(auth.SESSION_COOKIE)
    csrf = auth.csrf_token(auth.portal_key(_store(request).settings), token) if user and token else ""
    values.setdefault("notice", _notice(request))
    body = templates.get_template(name).render(t=translator(locale), locale=locale, csrf=csrf, locales=LOCALES,
                                               request_path=request.url.path, **values)  # fmt: skip
    response = HTMLResponse(body, status_code=status, headers=SECURE_HEADERS)
    if NOTICE_COOKIE in request.cookies:
        response.delete_cookie(NOTICE_COOKIE, path="/portal")
    return response


def staff(request: Request, *, manager: bool = True) -> auth.StaffUser:
    """The signed-in user, redirected to sign in when there is none, refused when the role does not fit."""
    store = _store(request)
    user = auth.current_user(store, store.settings, request.cookies.get(auth.SESSION_COOKIE))
    if user is None:
        back = request.url.path if request.method == "GET" else request.headers.get("referer", "")
        raise Redirect("/portal/sign-in?" + urlencode({"next": _safe_next(back)}))
    if manager and not user.manages_reports:
        raise Refused(403, "forbidden")
    return user


def check_form(request: Request, user: auth.StaffUser, form: dict[str, Any]) -> None:
    """A form posted by this session (its CSRF token), else refused."""
    key = auth.portal_key(_store(request).settings)
    token = request.cookies.get(auth.SESSION_COOKIE, "")
    given = form.get("csrf")
    if not auth.check_csrf(key, token, given if isinstance(given, str) else None):
        raise Refused(403, "expired_form")


def field_errors(err: ServiceError) -> dict[str, str]:
    """The service's (location, reason) pairs keyed by the form field they belong to."""
    errors: dict[str, str] = {}
    for loc, reason in err.fields:
        name = str(loc[-1]) if loc else "_form"
        errors.setdefault(name, reason)
    if not errors:
        errors["_form"] = err.message
    return errors


def _safe_next(target: str | None) -> str:
    """Only a path inside the portal: `next` must not send a signed-in user to another site."""
    if target and "://" in target:  # a Referer: keep its path only if it is ours
        _, _, rest = target.partition("://")
        target = "/" + rest.partition("/")[2]
    if not target or not target.startswith("/portal/") or target.startswith("//") or "\\" in target:
        return "/portal/"
    return target


# -- sign-in ---------------------------------------------------------------------------------------------
def _sign_in_page(request: Request, status: int, *, next_path: str, email: str = "",
                  error: str = "") -> HTMLResponse:  # fmt: skip
    nonce = secrets.token_urlsafe(24)  # a fresh one each time: a form that failed can be sent again
    response = render(request, "sign_in.html", status, nonce=nonce, next=next_path, email=email,
                      errors={"_form": error} if error else {})  # fmt: skip
    response.set_cookie(auth.SIGN_IN_COOKIE, nonce, httponly=True, samesite="strict", path="/portal",
                        secure=_secure_cookie(request))  # fmt: skip
    return response


@router.get("/sign-in")
def sign_in_page(request: Request, next: str = "/portal/") -> HTMLResponse:
    return _sign_in_page(request, 200, next_path=_safe_next(next))


@router.post("/sign-in")
def sign_in(request: Request, form: Posted) -> Response:
    nonce = request.cookies.get(auth.SIGN_IN_COOKIE, "")
    given = form.get("nonce")
    email, password = str(form.get("email") or ""), str(form.get("password") or "")
    next_path = _safe_next(str(form.get("next") or ""))
    t = translator(_locale(request))
    if not nonce or not isinstance(given, str) or not hmac.compare_digest(nonce.encode(), given.encode()):
        return _sign_in_page(request, 403, next_path=next_path, email=email, error=t("expired_form"))
    store = _store(request)
    try:
        token = auth.sign_in(store, store.settings, email, password, _address(request))
    except auth.SignInRefused as refused:
        if refused.locked is not None:
            minutes = int(refused.locked.total_seconds() // 60) + 1
            return _sign_in_page(request, 429, next_path=next_path, email=email, error=t("locked", minutes=minutes))
        return _sign_in_page(request, 401, next_path=next_path, email=email, error=t("wrong_credentials"))
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(auth.SESSION_COOKIE, token, httponly=True, samesite="strict", path="/portal",
                        secure=_secure_cookie(request), max_age=store.settings.portal_session_hours * 3600)  # fmt: skip
    response.delete_cookie(auth.SIGN_IN_COOKIE, path="/portal")
    return response


@router.post("/sign-out")
def sign_out(request: Request, form: Posted) -> Response:
    user = staff(request, manager=False)
    check_form(request, user, form)
    auth.sign_out(_store(request), request.cookies.get(auth.SESSION_COOKIE))
    response = RedirectResponse("/portal/sign-in", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/portal")
    return response


@router.post("/language")
def language(request: Request, form: Posted) -> Response:
    """Switch the portal's language: a signed-in user's is stored (a checked form), a visitor's kept in a cookie."""
    store = _store(request)
    user = auth.current_user(store, store.settings, request.cookies.get(auth.SESSION_COOKIE))
    locale = str(form.get("locale") or "")
    if locale not in LOCALES:
        raise Refused(422, "not_found")
    if user is not None:
        check_form(request, user, form)
        auth.set_user_locale(store, user.id, locale)
    response = RedirectResponse(_safe_next(str(form.get("next") or "")), status_code=303)
    response.set_cookie("pulse_lang", locale, samesite="strict", path="/portal", secure=_secure_cookie(request))
    return response


@router.get("/")
def home(request: Request) -> Response:
    user = staff(request, manager=False)
    return RedirectResponse("/portal/subscriptions" if user.manages_reports else "/portal/my", status_code=303)


# -- subscriptions ---------------------------------------------------------------------------------------
def _fires(cron: str, zone: str, locale: str) -> list[str]:
    """The next five fire times, as the page shows them: `2026-12-07 08:00 MSK, Mon`."""
    t = translator(locale)
    try:
        fires = next_fires(check_cron(cron), check_time_zone(zone), utcnow())
    except ValueError:
        return []
    return [f"{fire:%Y-%m-%d %H:%M %Z}, {t('wd.' + WEEKDAYS[fire.weekday()])}" for fire in fires]


@router.get("/subscriptions")
def subscriptions(request: Request) -> HTMLResponse:
    user = staff(request)
    store = _store(request)
    with store.read() as session:
        rows = session.scalars(
            select(ReportSubscription).where(ReportSubscription.deleted_at.is_(None)).order_by(ReportSubscription.name)
        ).all()
        items = [
            {"row": row, "next": reporting.next_fire_at(row), "audience": (row.audience or {}).get("preset", CUSTOM)}
            for row in rows
        ]
    return render(request, "subscriptions.html", user=user, items=items)


def _blank_form(settings_zone: str) -> dict[str, Any]:
    return {"report_kind": REPORT_KINDS[0], "preset": "hospital_contacts", "frequency": "monthly", "day": "1",
            "weekday": "mon", "time": "07:00", "time_zone": settings_zone, "enabled": "on", "attachments": []}  # fmt: skip


def _form_of_row(row: ReportSubscription) -> dict[str, Any]:
    audience = dict(row.audience or {"preset": CUSTOM})
    human = HumanSchedule.of(row.cron)
    form: dict[str, Any] = {"name": row.name, "description": row.description or "", "report_kind": row.report_kind,
                            "preset": audience.pop("preset"), "recipient_query": row.recipient_query,
                            "time_zone": row.time_zone, "cron": row.cron, "attachments": list(row.attachments or []),
                            "enabled": "on" if row.enabled else ""}  # fmt: skip
    for key, value in audience.items():
        form[key] = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    if human is None:
        form["frequency"] = "cron"
    else:
        form.update(frequency=human.frequency, day=str(human.day), weekday=human.weekday,
                    time=f"{human.hour:02d}:{human.minute:02d}")  # fmt: skip
    return form


# The API schema's limits, and the id lists the form takes as text (the API as JSON lists of MAX_IDS).
FORM_LIMITS = {**TEXT_LIMITS, "hospital_ids": 20_000, "sales_rep_ids": 20_000, "counterparty_ids": 20_000}


def _values(form: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The subscription a form describes, and the errors of fields the services do not check."""
    errors: dict[str, str] = {}
    for field, limit in FORM_LIMITS.items():
        text = form.get(field)
        if isinstance(text, str) and (len(text) > limit or "\x00" in text):
            errors[field] = f"at most {limit} characters, and no NUL"
    kind = str(form.get("report_kind") or "")
    frequency = str(form.get("frequency") or "monthly")
    cron = str(form.get("cron") or "")
    if frequency != "cron":
        try:
            hour, minute = (int(part) for part in str(form.get("time") or "").split(":"))
            day = int(str(form.get("day") or "1"))
            cron = HumanSchedule(frequency, day=day, weekday=str(form.get("weekday") or "mon"), hour=hour,
                                 minute=minute).cron()  # fmt: skip
        except ValueError as err:  # HumanSchedule names its field first ("the day of the month is ..."); else int()
            words = str(err).split()
            field = words[1] if len(words) > 1 and words[0] == "the" else "time"
            errors[field] = str(err) if words[0] == "the" else "HH:MM, 00:00 to 23:59"
    if frequency == "cron" or not errors.keys() & {"day", "weekday", "time", "frequency"}:
        try:
            cron = check_cron(cron)
        except ValueError as err:
            errors["cron"] = f"{cron!r} {err}"
    try:
        zone = check_time_zone(str(form.get("time_zone") or ""))
    except ValueError as err:
        errors["time_zone"], zone = str(err), "UTC"
    attachments = [a for a in form.get("attachments") or [] if a]
    if any(a not in ATTACHMENT_FORMATS for a in attachments):
        errors["attachments"] = f"one of {', '.join(ATTACHMENT_FORMATS)}"
    name = str(form.get("name") or "").strip()
    if not 1 <= len(name) <= TEXT_LIMITS["name"]:
        errors["name"] = f"1 to {TEXT_LIMITS['name']} characters"
    preset = str(form.get("preset") or CUSTOM)
    audience: dict[str, Any] = {"preset": preset}
    if preset in PRESETS:
        audience.update({c: str(form.get(c) or "").strip() for c in PRESETS[preset].choices if form.get(c)})
    values: dict[str, Any] = {
        "name": name,
        "description": str(form.get("description") or "").strip() or None,
        "report_kind": kind,
        "cron": cron,
        "time_zone": zone,
        "enabled": bool(form.get("enabled")),
        "attachments": sorted(set(attachments)),
        "audience": audience,
    }
    if preset == CUSTOM:
        values["recipient_query"] = str(form.get("recipient_query") or "")
    if kind not in REPORT_KINDS:
        errors["report_kind"] = f"one of {', '.join(REPORT_KINDS)}"
    return values, errors


def _render_form(request: Request, user: auth.StaffUser, form: dict[str, Any], *, sub_id: int | None,
                 errors: dict[str, str], status: int = 200, preview: dict[str, Any] | None = None) -> HTMLResponse:  # fmt: skip
    kind = str(form.get("report_kind") or REPORT_KINDS[0])
    spec = spec_for(kind if kind in REPORT_KINDS else REPORT_KINDS[0])
    shape = "email, locale, name" + (f", {spec.id_params[0]}" if spec.id_params else "")
    schedule, _ = _values({**form, "name": "-"})  # the form's schedule, even while other fields are wrong
    return render(request, "subscription_form.html", status, user=user, form=form, sub_id=sub_id, errors=errors,
                  kinds=REPORT_KINDS, presets=PRESETS, audiences=AUDIENCES, frequencies=FREQUENCIES, weekdays=WEEKDAYS,
                  attachment_formats=ATTACHMENT_FORMATS, static_shape=shape, preview=preview,
                  fires=_fires(schedule["cron"], schedule["time_zone"], user.locale))  # fmt: skip


@router.get("/subscriptions/new")
def new_subscription(request: Request) -> HTMLResponse:
    user = staff(request)
    zone = _store(request).settings.business.time_zone
    return _render_form(request, user, _blank_form(zone), sub_id=None, errors={})


@router.get("/subscriptions/{sub_id}/edit")
def edit_subscription(request: Request, sub_id: int) -> HTMLResponse:
    user = staff(request)
    with _store(request).read() as session:
        row = session.get(ReportSubscription, sub_id)
        if row is None or row.deleted_at is not None:
            raise Refused(404, "not_found")
        form = _form_of_row(row)
    return _render_form(request, user, form, sub_id=sub_id, errors={})


def _recipient_preview(request: Request, values: dict[str, Any]) -> dict[str, Any]:
    """The first rows and the count of the audience a form describes (the query runs read-only)."""
    store = _store(request)
    checked = reporting.with_audience(dict(values), values["report_kind"])
    query = checked.get("recipient_query") or ""
    reporting.check_query(store.settings, values["report_kind"], query)
    sub = Subscription(0, values["name"] or "-", values["report_kind"], values["cron"], values["time_zone"], True,
                       query, None, utcnow())  # fmt: skip
    people = on_demand.recipients(store.settings, sub)
    return {"count": len(people), "rows": people[:RECIPIENTS_SHOWN], "query": query}


def _save(request: Request, form: dict[str, Any], sub_id: int | None) -> Response:
    user = staff(request)
    check_form(request, user, form)
    values, errors = _values(form)
    store = _store(request)
    t = translator(user.locale)
    if not errors:
        try:
            if form.get("action") == "check":
                preview = _recipient_preview(request, values)
                return _render_form(request, user, form, sub_id=sub_id, errors={}, preview=preview)
            if sub_id is None:
                row = reporting.create_subscription(store, store.settings, values)
            else:
                row = reporting.update_subscription(store, store.settings, sub_id, values)
            return redirect_with_notice(request, f"/portal/subscriptions/{row.id}", t("saved"))
        except ServiceError as err:
            if err.status == 404:
                raise Refused(404, "not_found") from None
            errors = field_errors(err)
            if values["audience"]["preset"] != CUSTOM and "recipient_query" in errors:
                errors["preset"] = errors.pop("recipient_query")  # the preset wrote it: say so there
            if err.status == 503:
                errors["_form"] = t("warehouse_down")
    errors.setdefault("_form", t("fix_fields"))
    return _render_form(request, user, form, sub_id=sub_id, errors=errors, status=422)


@router.post("/subscriptions/new")
def create_subscription(request: Request, form: Posted) -> Response:
    return _save(request, form, None)


@router.post("/subscriptions/{sub_id}/edit")
def update_subscription(request: Request, form: Posted, sub_id: int) -> Response:
    return _save(request, form, sub_id)


def _send(request: Request, user: auth.StaffUser, sub: Subscription, form: dict[str, Any]) -> str:
    t = translator(user.locale)
    email = str(form.get("email") or "").strip() or None
    report = on_demand.send_now(_store(request).settings, sub, period=str(form.get("period") or "").strip() or None,
                                email=email)  # fmt: skip
    plan = report.plan
    if email and plan is not None and plan.recipients == 0:
        return t("not_a_recipient", email=email)
    return t("send_result", period=plan.periods if plan else "-", sent=report.outcomes.get("sent", 0),
             skipped=report.states.get("skipped", 0), failed=len(report.failures),
             already=(plan.recipients - plan.added) if plan else 0)  # fmt: skip


@router.post("/subscriptions/{sub_id}/{action}")
def subscription_action(request: Request, form: Posted, sub_id: int, action: str) -> Response:
    """pause, resume, delete, send, requeue: each a button on the subscription's page."""
    user = staff(request)
    check_form(request, user, form)
    store = _store(request)
    t = translator(user.locale)
    sub = _subscription(store, sub_id)
    notice = ""
    try:
        if action in ("pause", "resume"):
            reporting.update_subscription(store, store.settings, sub_id, {"enabled": action == "resume"})
        elif action == "delete":
            reporting.delete_subscription(store, sub_id)
            return redirect_with_notice(request, "/portal/subscriptions", t("deleted"))
        elif action == "send":
            notice = _send(request, user, sub, form)
        elif action == "requeue":
            # in doubt: it may have arrived; only when the manager says they checked (the checkbox)
            states = on_demand.REQUEUE_STATES if form.get("in_doubt") else ("failed",)
            period = str(form.get("period") or "").strip() or None
            count = ledger.requeue(store, sub_id, states=states, period=period, email=None)
            notice = t("requeued", count=count)
        else:
            raise Refused(404, "not_found")
    except ServiceError as err:  # shown next to the form that was sent (the preview form has a period too)
        errors = {f"{action}_{field}": reason for field, reason in field_errors(err).items()}
        errors["_form"] = t("warehouse_down") if err.status == 503 else t("fix_fields")
        return subscription_page_response(request, user, sub_id, errors=errors, status=err.status, form=form,
                                          filters={})  # fmt: skip
    return redirect_with_notice(request, f"/portal/subscriptions/{sub_id}", notice)


def _subscription(store: Store, sub_id: int) -> Subscription:
    try:
        return find_subscription(store, sub_id)
    except PulseError:  # unknown or deleted
        raise Refused(404, "not_found") from None


def _page_number(text: str | None) -> int:
    try:
        return min(max(1, int(text or "1")), MAX_PAGE)
    except ValueError:
        return 1


def subscription_page_response(request: Request, user: auth.StaffUser, sub_id: int, *,
                               errors: dict[str, str] | None = None, status: int = 200,
                               form: dict[str, Any] | None = None,
                               filters: dict[str, str] | None = None) -> HTMLResponse:  # fmt: skip
    """The subscription's page; `filters` of the ledger (state, email, period, page) default to the query string's,
    which is only the page's own on a GET of it."""
    store = _store(request)
    if filters is None:
        filters = {key: (request.query_params.get(key) or "").strip()[:254] for key in ("state", "email", "period")}
    page = _page_number(request.query_params.get("page") if filters else None)
    with store.read() as session:
        row = session.get(ReportSubscription, sub_id)
        if row is None or row.deleted_at is not None:
            raise Refused(404, "not_found")
        query = select(ReportDelivery).where(ReportDelivery.subscription_id == sub_id)
        if filters.get("state"):
            query = query.where(ReportDelivery.state == filters["state"])
        if filters.get("email"):
            query = query.where(ReportDelivery.email == filters["email"].lower())
        if filters.get("period"):
            query = query.where(ReportDelivery.period == filters["period"])
        deliveries = session.scalars(
            query.order_by(ReportDelivery.id.desc()).offset((page - 1) * LEDGER_PAGE).limit(LEDGER_PAGE + 1)
        ).all()
        by_state: dict[str, int] = {}
        for (_, _, state), n in ledger.state_counts(session, subscription_id=sub_id).items():
            by_state[state] = by_state.get(state, 0) + n
        zone = ZoneInfo(row.time_zone)
        sub = Subscription.of(row)
        fires = _fires(row.cron, row.time_zone, user.locale) if row.enabled else []
        view = {"row": row, "audience": (row.audience or {}).get("preset", CUSTOM)}
    people: list[on_demand.Recipient] = []
    recipients_error = None
    try:
        people = on_demand.recipients(store.settings, sub)
    except ServiceError as err:  # the warehouse is down or the query no longer runs: say so, keep the page
        recipients_error = "; ".join(reason for _, reason in err.fields) or err.message
    emails = list(dict.fromkeys(p.email for p in people))[:RECIPIENTS_LISTED]
    return render(request, "subscription.html", status, user=user, sub=view, fires=fires, zone=zone,
                  deliveries=deliveries[:LEDGER_PAGE], more=len(deliveries) > LEDGER_PAGE, page=page,
                  by_state=by_state, people=people[:RECIPIENTS_LISTED], people_count=len(people), emails=emails,
                  recipients_shown=RECIPIENTS_SHOWN, recipients_error=recipients_error, filters=filters,
                  errors=errors or {}, form=form or {}, states=DELIVERY_STATES)  # fmt: skip


@router.get("/subscriptions/{sub_id}")
def subscription_page(request: Request, sub_id: int) -> HTMLResponse:
    user = staff(request)
    return subscription_page_response(request, user, sub_id)


def _pdf(report: Any) -> Response:
    filename = "".join(c for c in report.filename if c.isalnum() or c in "-_.")  # a header value: nothing else
    return Response(report.pdf, media_type="application/pdf",
                    headers={**SECURE_HEADERS, "Content-Disposition": f'inline; filename="{filename}"'})  # fmt: skip


@router.get("/subscriptions/{sub_id}/preview.pdf")
def preview_pdf(request: Request, sub_id: int, recipient: str = "", period: str = "") -> Response:
    user = staff(request)
    store = _store(request)
    sub = _subscription(store, sub_id)
    try:
        report = on_demand.preview(store, sub, recipient=recipient[:400], period=period[:16] or None)
    except ServiceError as err:
        errors = {f"preview_{field}": reason for field, reason in field_errors(err).items()}
        return subscription_page_response(request, user, sub_id, errors=errors, status=err.status,
                                          form={"recipient": recipient, "period": period}, filters={})  # fmt: skip
    return _pdf(report)


@router.get("/schedule")
def schedule_preview(request: Request) -> JSONResponse:
    """The next five fire times of a schedule form (the form's script asks while it is edited)."""
    user = staff(request)
    values, errors = _values({**request.query_params, "name": "-", "report_kind": REPORT_KINDS[0]})
    if errors:
        return JSONResponse({"errors": errors}, status_code=422)
    return JSONResponse({"cron": values["cron"], "fires": _fires(values["cron"], values["time_zone"], user.locale)})


# -- sales reps ------------------------------------------------------------------------------------------
def _sales_rep(request: Request) -> tuple[auth.StaffUser, int]:
    """A signed-in sales rep whose record is live and active, and its id (never a parameter of the request)."""
    user = staff(request, manager=False)
    if user.sales_rep_id is None:
        raise Redirect("/portal/subscriptions")
    with _store(request).read() as session:
        rep = session.get(SalesRep, user.sales_rep_id)
        if rep is None or rep.deleted_at is not None or rep.status != "active":
            raise Refused(403, "forbidden")
    return user, user.sales_rep_id


@router.get("/my")
def my_statements(request: Request) -> HTMLResponse:
    user, rep_id = _sales_rep(request)
    with _store(request).read() as session:
        statements = recipient_service.statements_of(session, user.email)
    notice = None  # else the flashed one
    try:
        territory = on_demand.territory(_store(request).settings, rep_id)
    except ServiceError as err:
        territory, notice = [], err.message
    month = utcnow().date().replace(day=1)
    months = []
    for _ in range(12):
        month = (month - dt.timedelta(days=1)).replace(day=1)
        months.append(f"{month:%Y-%m}")
    extra: dict[str, Any] = {"notice": notice} if notice else {}
    return render(request, "my.html", user=user, statements=statements, months=months, territory=territory, **extra)


@router.get("/my/statement.pdf")
def my_statement(request: Request, period: str = "") -> Response:
    """A sales rep's own statement for a month: the id is the signed-in user's, never a parameter."""
    user, rep_id = _sales_rep(request)
    try:
        report = on_demand.sales_rep_statement(_store(request).settings, rep_id, period[:16], user.locale)
    except ServiceError as err:
        return render(request, "message.html", err.status, user=user, title=translator(user.locale)("not_found"),
                      lines=[err.message, *(reason for _, reason in err.fields)])  # fmt: skip
    return _pdf(report)


# -- recipients: the page every statement email links to ----------------------------------------------------
def _recipient(request: Request, token: str) -> str:
    store = _store(request)
    try:
        return read_recipient_token(signing_key(store.settings), token, utcnow())
    except BadToken as err:
        raise Refused(400, f"bad_link:{err}") from None


@router.get("/me/{token}")
def recipient_page(request: Request, token: str) -> HTMLResponse:
    email = _recipient(request, token)
    store = _store(request)
    with store.read() as session:
        subs = recipient_service.subscriptions_of(session, email)
        statements = recipient_service.statements_of(session, email)
        chosen = recipient_service.preferred_locale(session, email)
    locale = chosen or (statements[0].locale if statements else _locale(request))
    key = auth.portal_key(store.settings)
    return render(request, "recipient.html", locale=locale, email=email, subs=subs, statements=statements,
                  names={s.id: s.name for s in subs}, chosen=locale,
                  recipient_csrf=auth.csrf_token(key, "recipient:" + token))  # fmt: skip


@router.post("/me/{token}")
def recipient_change(request: Request, form: Posted, token: str) -> Response:
    email = _recipient(request, token)
    store = _store(request)
    key = auth.portal_key(store.settings)
    given = form.get("csrf")
    if not auth.check_csrf(key, "recipient:" + token, given if isinstance(given, str) else None):
        raise Refused(403, "expired_form")
    action, target = str(form.get("action") or ""), str(form.get("subscription") or "")
    try:
        if action == "locale":
            recipient_service.set_locale(store, email, str(form.get("locale") or ""))
        elif action in ("unsubscribe", "resubscribe") and target.isascii() and target.isdigit():
            change = recipient_service.unsubscribe if action == "unsubscribe" else recipient_service.resubscribe
            change(store, email, int(target))
        else:
            raise Invalid("unknown action")
    except ServiceError as err:
        raise Refused(404 if err.status == 404 else 422, "not_found") from None
    return RedirectResponse(f"/portal/me/{token}", status_code=303)
