"""Alert rules as they are written: a kind's parameters checked against the row as it will be stored (a PATCH that
changes only the kind, or only the parameters, is checked too), recipients normalised; and the default rule set
`pulse up` creates on embedded defaults.
"""

from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from operational_api.models import AlertRule
from operational_api.schemas.alerts import PARAMS, MetricParams
from operational_api.services.common import Invalid, checked_email
from pulse.core.settings import Settings
from pulse.metrics import project_metrics


def check_metric(params: MetricParams) -> None:
    """The metric exists, `by` is one of its dimensions, and a weekday comparison has days to compare."""
    metrics = {m.key: m for m in project_metrics()}
    metric = metrics.get(params.metric)
    if metric is None:
        raise Invalid("unknown metric", [(("body", "params", "metric"), "name one as `model.metric` (`pulse "
                                          "metrics list` shows them)")])  # fmt: skip
    if params.by is not None and params.by not in metric.dimensions:
        raise Invalid("not a dimension of the metric", [(("body", "params", "by"), "one of: "
                                                          + ", ".join(metric.dimensions))])  # fmt: skip
    if metric.time_dimension is None:
        raise Invalid("the metric has no date", [(("body", "params", "metric"), "an alert compares days: choose a "
                                                  "metric of a mart with a date dimension")])  # fmt: skip


def _address(index: int, email: str) -> str:
    try:
        return checked_email(email)
    except EmailNotValidError as err:
        raise Invalid("not an address mail can go to", [(("body", "emails", index), str(err))]) from None


def rule_before_write(session: Session, values: dict[str, Any], existing: AlertRule | None) -> dict[str, Any]:
    if existing is not None and "kind" not in values and "params" not in values:
        # Neither changes: the stored parameters stand as they are (a rule whose metric has gone can still be
        # disabled or renamed).
        return _recipients_of(values, existing)
    kind = values.get("kind") or (existing.kind if existing is not None else None)
    params = values.get("params", existing.params if existing is not None else {})
    try:
        checked = PARAMS[str(kind)].model_validate(params or {})
    except ValidationError as err:
        raise Invalid(
            f"bad parameters for a {kind} rule",
            [(("body", "params", *(str(p) for p in e["loc"])), e["msg"]) for e in err.errors()],
        ) from None
    if isinstance(checked, MetricParams):
        check_metric(checked)
    return _recipients_of({**values, "params": checked.model_dump(mode="json")}, existing)


def _recipients_of(values: dict[str, Any], existing: AlertRule | None) -> dict[str, Any]:
    """Addresses checked and lower-cased, each address and URL once."""
    values = dict(values)
    if values.get("emails") is not None:
        values["emails"] = sorted({_address(index, e) for index, e in enumerate(values["emails"])})
    if values.get("webhooks") is not None:
        values["webhooks"] = list(dict.fromkeys(values["webhooks"]))
    for key in ("emails", "webhooks"):
        if existing is None and values.get(key) is None:
            values[key] = []
    return values


# Overdue receivables from one counterparty worth a finance team's call, in the reporting currency: a million roubles
# (about ten thousand dollars); 10,000 in any other currency (USD- or EUR-sized). Operators set their own line.
OVERDUE_LINE = {"RUB": 1_000_000.0}
OVERDUE_LINE_OTHERWISE = 10_000.0


def default_metric_rules(settings: Settings) -> list[dict[str, Any]]:
    """The metric rules among the defaults, checked on the marts after each warehouse build
    (pulse.alerts.metric_rules): a hospital's kits on the latest complete day down more than 40% against the same
    weekday's 4-week average, a hospital's decline rate above 15% that day, and a counterparty's overdue receivables
    above OVERDUE_LINE. A day's value does not change once the day is over, so they remind once a day, not hourly."""
    daily = {"kind": "metric", "remind_minutes": 24 * 60}
    overdue = OVERDUE_LINE.get(settings.business.currency, OVERDUE_LINE_OTHERWISE)
    return [
        {"name": "Hospital kits down", "severity": "warning", **daily,
         "params": {"metric": "mart_vending_daily.total_kits_sold", "by": "hospital_id",
                    "condition": "drop_vs_weekday_average", "threshold": 40, "weeks": 4}},
        {"name": "Hospital decline rate high", "severity": "warning", **daily,
         "params": {"metric": "mart_vending_daily.decline_rate", "by": "hospital_id", "condition": "above",
                    "threshold": 0.15, "period": "day"}},
        {"name": "Receivables overdue", "severity": "info", **daily,
         "params": {"metric": "mart_receivables.overdue", "by": "counterparty_name", "condition": "above",
                    "threshold": overdue, "period": "all"}},
    ]  # fmt: skip


def default_rules(settings: Settings) -> list[dict[str, Any]]:
    """The rules `pulse up` creates (by name, once): the owner is told of lockouts, guessing, silent machines,
    low stock and failed top-ups at once, and of a hospital's sales falling after each warehouse build."""
    emails = [e.strip() for e in settings.alerts_owner_email.split(",") if e.strip()]
    webhooks = [settings.alerts_webhook_url.get_secret_value()] if settings.alerts_webhook_url else []
    common = {"emails": emails, "webhooks": webhooks}
    return [
        {"name": "PIN lockout", "kind": "pin_lockout", "severity": "warning", "params": {}, **common},
        {"name": "Guessing at a machine", "kind": "bad_credentials", "severity": "critical",
         "params": {"window_minutes": 10, "threshold": 10}, **common},
        # Within daytime hours: at night nobody buys, and a quiet machine is not a broken one.
        {"name": "Machine silent", "kind": "machine_offline", "severity": "warning",
         "params": {"silent_hours": 3, "open_hours": "07:00-21:00"}, "remind_minutes": 240, **common},
        {"name": "Low stock", "kind": "low_stock", "severity": "info", "params": {"threshold": 2},
         "remind_minutes": 0, **common},
        {"name": "Failed top-up", "kind": "failed_top_up", "severity": "info", "params": {"window_minutes": 60},
         "remind_minutes": 0, **common},
        *({**rule, **common} for rule in default_metric_rules(settings)),
    ]  # fmt: skip


def create_defaults(session: Session, rules: list[dict[str, Any]]) -> list[str]:
    """Create the rules whose names are not taken yet (a rule the operator changed or deleted stays so)."""
    taken = set(session.scalars(select(AlertRule.name)).all())
    created = []
    for rule in rules:
        if rule["name"] in taken:
            continue
        values = rule_before_write(session, rule, None)
        session.add(AlertRule(**{"enabled": True, "cooldown_minutes": 60, "remind_minutes": 60, **values}))
        created.append(rule["name"])
    return created
