"""`pulse alerts ...`: run the alerts service, manage rules, read the alert log, acknowledge and resolve."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from pulse.core.console import PulseError, console
from pulse.core.settings import get_settings

if TYPE_CHECKING:
    from operational_api.db import Store

app = typer.Typer(help="Alerts: rules, the alert log, and the service that sends them.", no_args_is_help=True)


def _store() -> Store:
    from operational_api.db import Store

    return Store(settings=get_settings())


@app.command("serve")
def serve() -> None:
    """Evaluate the operational rules and send due notices every PULSE_ALERTS_INTERVAL_SECONDS, until stopped."""
    from pulse.alerts.service import serve as run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs every request's URL: a webhook's is a secret
    run(get_settings())


@app.command("health")
def health() -> None:
    """Exit 0 while the alerts service runs and its heartbeat is fresh (a container health check)."""
    from pulse.alerts.service import alive

    if not alive(get_settings()):
        raise PulseError("the alerts service is not running (or stopped evaluating)", "see its log")


@app.command("evaluate")
def evaluate(
    metrics: Annotated[bool, typer.Option("--metrics", help="The metric rules (on the warehouse) instead.")] = False,
) -> None:
    """One round now: evaluate the rules, then send what is due."""
    from operational_api.models import utcnow
    from operational_api.services.alert_conditions import evaluate_operational
    from pulse.alerts.delivery import deliver_due

    settings, store = get_settings(), _store()
    try:
        if metrics:
            from pulse.alerts.metric_rules import evaluate_metric_rules

            observed = evaluate_metric_rules(store, settings)
        else:
            observed = evaluate_operational(store, utcnow())
        sent = deliver_due(store, settings)
    finally:
        store.dispose()
    console.print(f"{observed.raised} raised, {observed.reopened} reopened, {observed.reminded} reminded, "
                  f"{observed.resolved} resolved; notices: {dict(sent) or 'none due'}")  # fmt: skip


def _rule_values(**values: Any) -> dict[str, Any]:
    from pydantic import ValidationError

    from operational_api.schemas.alerts import AlertRuleIn

    try:
        return AlertRuleIn.model_validate(values).model_dump(exclude_unset=True)
    except ValidationError as err:
        problem = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors())
        raise PulseError(f"invalid rule: {problem}", "`pulse alerts add-rule --help` lists the options") from None


@app.command("add-rule")
def add_rule(
    name: Annotated[str, typer.Option(help="Unique name, shown in every notice.")],
    kind: Annotated[
        str, typer.Option(help="pin_lockout, bad_credentials, machine_offline, low_stock, failed_top_up or metric.")
    ],
    params: Annotated[str, typer.Option(help="The kind's parameters as JSON, e.g. '{\"threshold\": 3}'.")] = "{}",
    severity: Annotated[str, typer.Option(help="info, warning or critical.")] = "warning",
    email: Annotated[list[str] | None, typer.Option(help="An address to tell (repeat for several).")] = None,
    webhook: Annotated[list[str] | None, typer.Option(help="A URL to POST to (repeat for several).")] = None,
    cooldown_minutes: Annotated[int, typer.Option(help="Quiet time after a notice for the same subject.")] = 60,
    remind_minutes: Annotated[int, typer.Option(help="Remind while unacknowledged; 0: never.")] = 60,
) -> None:
    """Create a rule (checked as the API checks it)."""
    from operational_api.models import AlertRule
    from operational_api.services.alert_rules import rule_before_write
    from operational_api.services.common import ServiceError

    try:
        parsed = json.loads(params)
    except json.JSONDecodeError as err:
        raise PulseError(f"--params is not JSON: {err}", "write it as '{\"key\": value}'") from None
    values = _rule_values(name=name, kind=kind, params=parsed, severity=severity, emails=email or [],
                          webhooks=webhook or [], cooldown_minutes=cooldown_minutes, remind_minutes=remind_minutes)  # fmt: skip
    store = _store()
    try:
        with store.write() as session:
            try:
                values = rule_before_write(session, values, None)
            except ServiceError as err:
                reasons = "; ".join(f"{'.'.join(map(str, loc[1:]))}: {why}" for loc, why in err.fields)
                raise PulseError(f"{err.message}: {reasons}", "fix the rule and run the command again") from None
            rule = AlertRule(enabled=True, **values)
            session.add(rule)
            session.flush()
            rule_id = rule.id
    except Exception as err:
        if "UNIQUE" in str(err).upper() and "name" in str(err).lower():
            raise PulseError(f"a rule named {name!r} exists", "choose another name") from None
        raise
    finally:
        store.dispose()
    console.print(f"[green]✓[/green] rule {rule_id}: {name}")


def _set_enabled(name: str, enabled: bool) -> None:
    from sqlalchemy import select

    from operational_api.models import AlertRule

    store = _store()
    try:
        with store.write() as session:
            rule = session.scalars(
                select(AlertRule).where(AlertRule.name == name, AlertRule.deleted_at.is_(None))
            ).first()
            if rule is None:
                raise PulseError(f"no rule named {name!r}", "`pulse alerts rules` lists them")
            rule.enabled = enabled
    finally:
        store.dispose()
    console.print(f"{name}: {'enabled' if enabled else 'disabled'}")


@app.command("enable")
def enable(name: Annotated[str, typer.Argument(help="The rule's name.")]) -> None:
    """Evaluate a rule again."""
    _set_enabled(name, True)


@app.command("disable")
def disable(name: Annotated[str, typer.Argument(help="The rule's name.")]) -> None:
    """Stop evaluating a rule (its unresolved alerts are resolved, silently)."""
    _set_enabled(name, False)


@app.command("rules")
def rules() -> None:
    """Every rule, with its recipients (webhooks by host only)."""
    from sqlalchemy import select

    from operational_api.models import AlertRule
    from operational_api.services.webhooks import shown

    store = _store()
    try:
        with store.read() as session:
            rows = session.scalars(select(AlertRule).where(AlertRule.deleted_at.is_(None)).order_by(AlertRule.id)).all()
            table = Table("id", "name", "kind", "severity", "on", "params", "recipients", "cooldown", "remind")
            for r in rows:
                recipients = ", ".join([*r.emails, *(shown(w) for w in r.webhooks)]) or "-"
                table.add_row(str(r.id), r.name, r.kind, r.severity, "yes" if r.enabled else "no",
                              json.dumps(r.params), recipients, f"{r.cooldown_minutes} min",
                              f"{r.remind_minutes} min" if r.remind_minutes else "never")  # fmt: skip
    finally:
        store.dispose()
    console.print(table)


@app.command("log")
def alert_log(
    status: Annotated[str | None, typer.Option(help="open, acknowledged or resolved.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 30,
) -> None:
    """The alert log, newest first, with what was sent about each alert."""
    from sqlalchemy import func, select

    from operational_api.models import Alert, AlertNotification

    store = _store()
    try:
        with store.read() as session:
            query = select(Alert).where(Alert.deleted_at.is_(None)).order_by(Alert.id.desc()).limit(limit)
            if status:
                query = query.where(Alert.status == status)
            alerts = session.scalars(query).all()
            sent = dict(
                session.execute(
                    select(AlertNotification.alert_id, func.count())
                    .where(AlertNotification.alert_id.in_([a.id for a in alerts]), AlertNotification.status == "sent")
                    .group_by(AlertNotification.alert_id)
                ).all()
            )
            table = Table("id", "raised (UTC)", "kind", "severity", "status", "message", "notices sent")
            for a in alerts:
                table.add_row(str(a.id), a.raised_at.strftime("%Y-%m-%d %H:%M"), a.kind, a.severity, a.status,
                              a.message, str(sent.get(a.id, 0)))  # fmt: skip
    finally:
        store.dispose()
    console.print(table)


def _act(alert_id: int, action: str) -> None:
    import getpass

    from operational_api.models import utcnow
    from operational_api.services import alerting
    from operational_api.services.common import NotFound

    store = _store()
    try:
        alert = alerting.act(store, alert_id, action, f"cli:{getpass.getuser()}", utcnow())
    except NotFound as err:
        raise PulseError(err.message, "`pulse alerts log` lists the alerts") from None
    finally:
        store.dispose()
    console.print(f"alert {alert.id}: {alert.status}")


@app.command("ack")
def ack(alert_id: Annotated[int, typer.Argument(help="The alert's id.")]) -> None:
    """Acknowledge an alert: reminders stop."""
    _act(alert_id, "acknowledge")


@app.command("resolve")
def resolve(alert_id: Annotated[int, typer.Argument(help="The alert's id.")]) -> None:
    """Resolve an alert by hand."""
    _act(alert_id, "resolve")


@app.command("defaults")
def defaults() -> None:
    """Create the default rule set (rules whose names are taken are left as they are)."""
    from operational_api.services.alert_rules import create_defaults, default_rules

    settings, store = get_settings(), _store()
    try:
        with store.write() as session:
            created = create_defaults(session, default_rules(settings))
    finally:
        store.dispose()
    console.print(f"default alert rules: {', '.join(created) if created else 'all present'}")
