"""The portal's alert pages: the alert log (admins and report managers), the alert rules (admins), and the public
page behind the link in every alert notice.

Nothing here validates a rule or changes an alert its own way: a rule is checked by AlertRuleIn and written by the
generic /v1/alert-rules resource's crud.create_row / update_row (whose rule_before_write checks the kind's
parameters against the row as stored), an alert changes through alerting.act, as the API and the CLI do. The page
only turns the form into the API's body and the errors back into fields.

A rule's webhook URLs are write-only, as in the API: a page shows scheme and host (webhooks.shown), never the path
or query, which are often the webhook's secret; not even the ones just typed into a form that is shown again.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from operational_api.models import (
    ALERT_KINDS,
    ALERT_STATUSES,
    NOTIFICATION_STATES,
    RULE_KINDS,
    SEVERITIES,
    Alert,
    AlertNotification,
    AlertRule,
    utcnow,
)
from operational_api.schemas.alerts import PARAMS, AlertRuleIn
from operational_api.services import alerting, crud
from operational_api.services.common import NotFound, ServiceError
from operational_api.services.resources import RESOURCES
from operational_api.services.webhooks import shown
from operational_api.unsubscribe import BadToken, read_alert_token, signing_key
from pulse.metrics import project_metrics
from pulse.portal import auth
from pulse.portal.messages import TEXT, translator
from pulse.portal.pages import (
    Posted,
    Refused,
    _locale,
    _page_number,
    _safe_next,
    _store,
    check_form,
    redirect_with_notice,
    render,
    staff,
)

router = APIRouter(prefix="/portal", include_in_schema=False)
LOG_PAGE = 50
ACTIONS = ("acknowledge", "resolve")
RULES = next(res for res in RESOURCES if res.name == "alert-rules")  # the API's resource: the same checks and hooks
EMAIL_SEPARATORS = re.compile(r"[,;\s]+")
# Text a form field may carry before it is split or parsed (the schema checks the parts: 100 addresses, 10 URLs).
FIELD_LIMITS = {"emails": 30_000, "webhooks": 12_000}
FIELD_LIMIT = 2_000
VALUE_ERROR = "Value error, "  # pydantic's prefix to a validator's own message


def _zone(request: Request) -> ZoneInfo:
    return ZoneInfo(_store(request).settings.business.time_zone)


def _admin(request: Request) -> auth.StaffUser:
    """Rules decide who is sent what, and where Pulse POSTs: the admin's, as /v1/alert-rules is admin keys'."""
    user = staff(request)
    if user.role != "admin":
        raise Refused(403, "forbidden")
    return user


# -- the alert log -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogRow:
    alert: Alert
    rule: str | None
    notices: dict[str, int]  # notification state -> count


def _log(session: Session, filters: dict[str, str], page: int) -> tuple[list[LogRow], bool, dict[str, int]]:
    """One page of the log, newest first, whether there are more, and the count of each status (of the kind)."""
    query = (
        select(Alert, AlertRule.name)  # the rule's name even when it was deleted since
        .outerjoin(AlertRule, AlertRule.id == Alert.rule_id)
        .where(Alert.deleted_at.is_(None))
    )
    counting = select(Alert.status, func.count()).where(Alert.deleted_at.is_(None)).group_by(Alert.status)
    if filters["kind"]:
        query, counting = query.where(Alert.kind == filters["kind"]), counting.where(Alert.kind == filters["kind"])
    if filters["status"]:
        query = query.where(Alert.status == filters["status"])
    found = session.execute(query.order_by(Alert.id.desc()).offset((page - 1) * LOG_PAGE).limit(LOG_PAGE + 1)).all()
    shown_rows = found[:LOG_PAGE]
    notices: dict[int, dict[str, int]] = {}
    if shown_rows:
        counts = session.execute(
            select(AlertNotification.alert_id, AlertNotification.status, func.count())
            .where(AlertNotification.alert_id.in_([alert.id for alert, _ in shown_rows]))
            .group_by(AlertNotification.alert_id, AlertNotification.status)
        ).all()
        for alert_id, state, count in counts:
            notices.setdefault(alert_id, {})[state] = count
    by_status = {str(status): int(count) for status, count in session.execute(counting).all()}
    rows = [LogRow(alert, name, notices.get(alert.id, {})) for alert, name in shown_rows]
    return rows, len(found) > LOG_PAGE, by_status


@router.get("/alerts")
def alert_log(request: Request) -> HTMLResponse:
    user = staff(request)
    status, kind = request.query_params.get("status", ""), request.query_params.get("kind", "")
    filters = {"status": status if status in ALERT_STATUSES else "", "kind": kind if kind in ALERT_KINDS else ""}
    page = _page_number(request.query_params.get("page"))
    with _store(request).read() as session:
        rows, more, by_status = _log(session, filters, page)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return render(request, "alerts.html", user=user, rows=rows, more=more, page=page, filters=filters,
                  by_status=by_status, statuses=ALERT_STATUSES, kinds=ALERT_KINDS, notice_states=NOTIFICATION_STATES,
                  zone=_zone(request), here=here)  # fmt: skip


# -- the alert rules (admins) ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ParamField:
    """One parameter of a rule kind, as the form shows it (read from the kind's model in schemas.alerts.PARAMS)."""

    name: str
    label: str
    hint: str
    choices: tuple[tuple[str, str], ...]  # a select's (value, label); () for a text field
    inputmode: str  # numeric, decimal or text
    required: bool
    default: str


def _text(t: Callable[..., str], key: str, fallback: str) -> str:
    """The portal's words for `key`, else `fallback` (a parameter added to the schema shows its own description)."""
    return t(key) if key in TEXT else fallback


def param_fields(kind: str, locale: str) -> list[ParamField]:
    t = translator(locale)
    fields = []
    for name, info in PARAMS[kind].model_fields.items():
        annotation = info.annotation
        choices = typing.get_args(annotation) if typing.get_origin(annotation) is typing.Literal else ()
        mode = "numeric" if annotation is int else "decimal" if annotation is float else "text"
        default = "" if info.is_required() or info.default is None else str(info.default)
        fields.append(ParamField(name, _text(t, f"param.{name}", name),
                                 _text(t, f"param_hint.{kind}.{name}", info.description or ""),
                                 tuple((str(c), _text(t, f"choice.{c}", str(c))) for c in choices), mode,
                                 info.is_required(), default))  # fmt: skip
    return fields


def _metric_names() -> list[str]:
    """Metrics a metric rule may name (those with a date: a rule compares days)."""
    return sorted(m.key for m in project_metrics() if m.time_dimension is not None)


@router.get("/alerts/rules")
def alert_rules(request: Request) -> HTMLResponse:
    user = _admin(request)
    with _store(request).read() as session:
        rules = session.scalars(select(AlertRule).where(AlertRule.deleted_at.is_(None)).order_by(AlertRule.name)).all()
        items = [
            {"row": rule, "webhooks": [shown(url) for url in rule.webhooks],
             "params": ", ".join(f"{k}={v}" for k, v in sorted((rule.params or {}).items()) if v is not None)}
            for rule in rules
        ]  # fmt: skip
    return render(request, "alert_rules.html", user=user, items=items)


def _blank_rule() -> dict[str, Any]:
    form: dict[str, Any] = {"kind": RULE_KINDS[0], "severity": "warning", "enabled": "on", "cooldown_minutes": "60",
                            "remind_minutes": "60"}  # fmt: skip
    for kind, model in PARAMS.items():
        for name, info in model.model_fields.items():
            if not info.is_required() and info.default is not None:
                form[f"params.{kind}.{name}"] = str(info.default)
    return form


def _form_of_rule(rule: AlertRule) -> dict[str, Any]:
    form = {**_blank_rule(), "name": rule.name, "kind": rule.kind, "severity": rule.severity,
            "enabled": "on" if rule.enabled else "", "emails": "\n".join(rule.emails),
            "cooldown_minutes": str(rule.cooldown_minutes), "remind_minutes": str(rule.remind_minutes)}  # fmt: skip
    for name, value in (rule.params or {}).items():
        form[f"params.{rule.kind}.{name}"] = "" if value is None else str(value)
    return form


def _render_rule_form(request: Request, user: auth.StaffUser, form: dict[str, Any], *, rule_id: int | None,
                      errors: dict[str, str], status: int = 200) -> HTMLResponse:  # fmt: skip
    current: list[str] = []
    if rule_id is not None:
        with _store(request).read() as session:
            rule = session.get(AlertRule, rule_id)
            if rule is None or rule.deleted_at is not None:
                raise Refused(404, "not_found")
            current = [shown(url) for url in rule.webhooks]
    typed_webhooks = bool(str(form.get("webhooks") or "").strip())
    form = {**form, "webhooks": ""}  # write-only: never shown back, not even as typed (see the module's docstring)
    return render(request, "alert_rule_form.html", status, user=user, form=form, rule_id=rule_id, errors=errors,
                  kinds=RULE_KINDS, severities=SEVERITIES, current_webhooks=current, typed_webhooks=typed_webhooks,
                  params={kind: param_fields(kind, user.locale) for kind in RULE_KINDS},
                  metric_names=_metric_names())  # fmt: skip


@router.get("/alerts/rules/new")
def new_rule(request: Request) -> HTMLResponse:
    user = _admin(request)
    return _render_rule_form(request, user, _blank_rule(), rule_id=None, errors={})


@router.get("/alerts/rules/{rule_id}/edit")
def edit_rule(request: Request, rule_id: int) -> HTMLResponse:
    user = _admin(request)
    with _store(request).read() as session:
        rule = session.get(AlertRule, rule_id)
        if rule is None or rule.deleted_at is not None:
            raise Refused(404, "not_found")
        form = _form_of_rule(rule)
    return _render_rule_form(request, user, form, rule_id=rule_id, errors={})


def _rule_body(form: dict[str, Any], editing: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The API body a rule form describes, and the errors of fields too long to read. On an edit, webhooks are
    left out (kept) unless new ones are given or the `clear` box is ticked."""
    errors: dict[str, str] = {}
    for key, value in form.items():
        limit = FIELD_LIMITS.get(key, FIELD_LIMIT)
        if isinstance(value, str) and (len(value) > limit or "\x00" in value):
            errors[key] = f"at most {limit} characters, and no NUL"
    if errors:
        return {}, errors
    kind = str(form.get("kind") or "")
    params = {}
    if kind in PARAMS:  # a blank parameter takes the kind's default (or is reported missing when it has none)
        for name in PARAMS[kind].model_fields:
            value = str(form.get(f"params.{kind}.{name}") or "").strip()
            if value:
                params[name] = value
    body: dict[str, Any] = {
        "name": str(form.get("name") or "").strip(),
        "kind": kind,
        "severity": str(form.get("severity") or ""),
        "enabled": bool(form.get("enabled")),
        "params": params,
        "emails": [e for e in EMAIL_SEPARATORS.split(str(form.get("emails") or "")) if e],
    }
    for key in ("cooldown_minutes", "remind_minutes"):
        value = str(form.get(key) or "").strip()
        if value:
            body[key] = value
    webhooks = str(form.get("webhooks") or "").split()
    if not editing or webhooks or form.get("clear_webhooks"):
        body["webhooks"] = webhooks
    return body, errors


def _error_key(loc: Sequence[Any], kind: str) -> str:
    """The form field a (location, reason) pair is about: a parameter's own field, else the top-level one."""
    parts = [str(p) for p in loc if p != "body"]
    if not parts:
        return "_form"
    if parts[0] == "params" and len(parts) > 1 and kind in PARAMS and parts[1] in PARAMS[kind].model_fields:
        return f"params.{kind}.{parts[1]}"
    return parts[0]


def _schema_errors(err: ValidationError, body: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for e in err.errors():
        loc, reason = e["loc"], str(e["msg"]).removeprefix(VALUE_ERROR)
        if loc[:1] == ("emails",) and e["type"] == "string_pattern_mismatch":
            reason = "not an email address"  # rather than the schema's pattern
        if len(loc) > 1 and loc[0] in ("emails", "webhooks") and isinstance(loc[1], int):
            item = str(body[str(loc[0])][loc[1]])
            reason = f"{shown(item) if loc[0] == 'webhooks' else item}: {reason}"  # a URL by its host only
        errors.setdefault(_error_key(loc, str(body.get("kind"))), reason)
    return errors


def _write_rule(request: Request, body: dict[str, Any], rule_id: int | None) -> int:
    """Through the API's schema and resource: AlertRuleIn, then crud (rule_before_write, unique name)."""
    values = AlertRuleIn.model_validate(body).model_dump(exclude_unset=True)
    with _store(request).write() as session:
        if rule_id is None:
            row = crud.create_row(session, RULES, values)
        else:
            row = crud.update_row(session, RULES, rule_id, values)
        return int(row.id)


def _save_rule(request: Request, form: dict[str, Any], rule_id: int | None) -> Response:
    user = _admin(request)
    check_form(request, user, form)
    t = translator(user.locale)
    body, errors = _rule_body(form, editing=rule_id is not None)
    if not errors:
        try:
            saved = _write_rule(request, body, rule_id)
            return redirect_with_notice(request, "/portal/alerts/rules", t("rule_saved", id=saved))
        except ValidationError as err:
            errors = _schema_errors(err, body)
        except ServiceError as err:
            if isinstance(err, NotFound):
                raise Refused(404, "not_found") from None
            errors = {}
            for loc, reason in err.fields:
                errors.setdefault(_error_key(loc, body["kind"]), reason.removeprefix(VALUE_ERROR))
            if not errors:
                errors["_form"] = err.message
    errors.setdefault("_form", t("fix_fields"))
    return _render_rule_form(request, user, form, rule_id=rule_id, errors=errors, status=422)


@router.post("/alerts/rules/new")
def create_rule(request: Request, form: Posted) -> Response:
    return _save_rule(request, form, None)


@router.post("/alerts/rules/{rule_id}/edit")
def update_rule(request: Request, form: Posted, rule_id: int) -> Response:
    return _save_rule(request, form, rule_id)


@router.post("/alerts/rules/{rule_id}/{action}")
def rule_action(request: Request, form: Posted, rule_id: int, action: str) -> Response:
    """enable, disable, delete: buttons on the rules page (a disabled or deleted rule's open alerts are resolved
    silently by the alerts service)."""
    user = _admin(request)
    check_form(request, user, form)
    if action not in ("enable", "disable", "delete"):
        raise Refused(404, "not_found")
    try:
        with _store(request).write() as session:
            if action == "delete":
                crud.delete_row(session, RULES, rule_id)
            else:  # the API's PATCH {"enabled": ...}: rule_before_write checks the stored row again
                crud.update_row(session, RULES, rule_id, {"enabled": action == "enable"})
    except NotFound:
        raise Refused(404, "not_found") from None
    return redirect_with_notice(request, "/portal/alerts/rules", translator(user.locale)(f"rule_{action}d"))


# -- acting on an alert from the log -----------------------------------------------------------------------------
@router.post("/alerts/{alert_id}/{action}")
def act_on_alert(request: Request, form: Posted, alert_id: int, action: str) -> Response:
    user = staff(request)
    check_form(request, user, form)
    if action not in ACTIONS:
        raise Refused(404, "not_found")
    try:
        alerting.act(_store(request), alert_id, action, f"portal:{user.email}", utcnow())
    except NotFound:
        raise Refused(404, "not_found") from None
    back = _safe_next(str(form.get("next") or "/portal/alerts"))
    return redirect_with_notice(request, back, translator(user.locale)(f"alert_{action}d", id=alert_id))


# -- the page behind the link in every alert notice (declared last: `{token}` would take `rules`) ------------------
def _alert_link(request: Request, token: str) -> tuple[int, str]:
    try:
        return read_alert_token(signing_key(_store(request).settings), token)
    except BadToken as err:
        raise Refused(400, f"bad_alert_link:{err}") from None


def _link_csrf(request: Request, token: str) -> str:
    """The form token of a link's page: bound to the link, as there is no session."""
    return auth.csrf_token(auth.portal_key(_store(request).settings), "alert:" + token)


@router.get("/alerts/{token}")
def alert_page(request: Request, token: str) -> HTMLResponse:
    """What the alert is; reading only (mail scanners fetch every link in a message, and must change nothing)."""
    alert_id, recipient = _alert_link(request, token)
    with _store(request).read() as session:
        try:
            alert = alerting.get(session, alert_id)
        except NotFound:
            raise Refused(404, "not_found") from None
        rule = session.get(AlertRule, alert.rule_id) if alert.rule_id is not None else None
        rule_name = rule.name if rule is not None else None
    return render(request, "alert_link.html", alert=alert, rule=rule_name, recipient=recipient, zone=_zone(request),
                  alert_csrf=_link_csrf(request, token))  # fmt: skip


@router.post("/alerts/{token}")
def alert_link_action(request: Request, form: Posted, token: str) -> Response:
    """Acknowledge or resolve, recorded as done by whom the link was sent to (an address, or `webhook`)."""
    alert_id, recipient = _alert_link(request, token)
    given = form.get("csrf")
    key = auth.portal_key(_store(request).settings)
    if not auth.check_csrf(key, "alert:" + token, given if isinstance(given, str) else None):
        raise Refused(403, "expired_form")
    action = str(form.get("action") or "")
    if action not in ACTIONS:
        raise Refused(422, "bad_request")
    try:
        alerting.act(_store(request), alert_id, action, recipient, utcnow())
    except NotFound:
        raise Refused(404, "not_found") from None
    t = translator(_locale(request))
    return redirect_with_notice(request, f"/portal/alerts/{token}", t(f"alert_{action}d", id=alert_id))
