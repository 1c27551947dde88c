"""Metric alert rules: a condition on a metric of the metrics layer, checked on the warehouse after each build.

The `pulse_elt` DAG runs `evaluate_metric_rules` right after its dbt build (task `metric_alerts`), and so does
`pulse alerts evaluate --metrics`. Every enabled rule of kind `metric` (its parameters: `MetricParams`) is compiled
through the metrics layer (`pulse.metrics.compile_query`: the metric's one definition, a ratio computed as a ratio
of sums, never an average of daily ratios), asked of the warehouse as the read-only user the statements use, and its
findings - one per value of the rule's `by` dimension, e.g. one per hospital - go to `alerting.observe` (through
`alert_conditions.evaluate_rule`: one transaction per rule), which raises, keeps, reminds and resolves the alerts.
The notices themselves are sent by the alerts service (or by `pulse alerts evaluate`), like every other alert's.

The day a rule looks at is the latest complete day: the day before today in the company's time zone
(PULSE_COMPANY_TIME_ZONE) and in every hospital's own zone, whichever is earliest. The daily marts count a
hospital's days in its own zone (mart_vending_daily) and the company's days in the company's zone
(mart_executive_kpis_daily); a day is complete once it is over in all of them, so at 01:00 in New York a Hawaiian
hospital's yesterday is still selling and the latest complete day is the day before. Vends a machine uploads from its
offline buffer after that day was checked are counted by the next evaluation (the same day stays the latest complete
one until the next midnight, evaluated again every hour).

Conditions (the line is `threshold`, in the metric's unit: a ratio as a fraction, 0.15 for 15%):
- `drop_vs_weekday_average`: the latest complete day against the same weekday of the `weeks` weeks before. Fires
  when that average is above zero and the day's value is more than `threshold` percent below it. A value of `by`
  with rows in those weeks but none on the day counts as 0 (a hospital that sold nothing is the strongest drop);
  a day without a row counts as 0 in the average too. A ratio's comparison value is the ratio over those weekdays
  together, and a ratio with no rows on the day (no denominator) has no value and does not fire.
- `above` / `below`: the value over the `period` (the latest complete day, its month to date, or all time) against
  the line. For `below`, a value of `by` seen in the `weeks` weeks before the period but without rows in it counts as
  0 (a ratio: no value, no finding).
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import OperationalError
from sqlalchemy import select

from operational_api.db import Store
from operational_api.models import AlertRule, Hospital, utcnow
from operational_api.schemas.alerts import MetricParams
from operational_api.services.alert_conditions import evaluate_rule
from operational_api.services.alert_rules import check_metric
from operational_api.services.alerting import Finding, Observed
from operational_api.services.common import ServiceError
from pulse.core.settings import Settings
from pulse.metrics import Metric, compile_query, project_metrics
from warehouse.identities import WarehouseUnavailable, reader_client

log = logging.getLogger(__name__)

Key = tuple[Any, ...]  # the value of `by` (empty without one)
SUBJECT_MAX = 200  # Alert.subject
# Messages are in English whatever the process's locale (strftime's day and month names follow LC_TIME).
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")  # fmt: skip


def _weekday(day: dt.date) -> str:
    return WEEKDAYS[day.weekday()]


# -- the day ---------------------------------------------------------------------------------------------------
def latest_complete_day(now: dt.datetime, zones: Iterable[str]) -> dt.date:
    """The latest day that is over in every one of `zones` at `now`: the earliest of their yesterdays."""
    return min(now.astimezone(zoneinfo.ZoneInfo(zone)).date() for zone in zones) - dt.timedelta(days=1)


# -- what the store knows about hospitals ---------------------------------------------------------------------
@dataclass(frozen=True)
class Hospitals:
    """Hospital names and ids from the store: a `by` that names a hospital gives its alert the hospital's id and
    its message the hospital's name."""

    names: dict[int, str]  # id -> name
    zones: frozenset[str]

    @classmethod
    def read(cls, store: Store) -> Hospitals:
        with store.read() as session:
            rows = session.execute(
                select(Hospital.id, Hospital.name, Hospital.time_zone).where(Hospital.deleted_at.is_(None))
            ).all()
        return cls({r[0]: r[1] for r in rows}, frozenset(r[2] for r in rows))

    def hospital_id(self, dimension: str | None, value: Any) -> int | None:
        if dimension == "hospital_id":  # only a hospital the store has (the alert's foreign key)
            return int(value) if value is not None and int(value) in self.names else None
        if dimension == "hospital_name":
            ids = [i for i, name in self.names.items() if name == value]
            return ids[0] if len(ids) == 1 else None  # two hospitals of one name: which one is unknown
        return None

    def shown(self, dimension: str | None, value: Any) -> str:
        """How the message names the value of `by`."""
        if dimension == "hospital_id" and value is not None and int(value) in self.names:
            return self.names[int(value)]
        return "(none)" if value is None else str(value)


# -- numbers in messages ---------------------------------------------------------------------------------------
def shown_value(metric: Metric, value: float, currency: str, *, average: bool = False) -> str:
    """A value the way its metric's d3 format says (Python's format spec reads those: `,.0f`, `.1%`, `+.1%`); an
    average of counts with one decimal; money with the reporting currency."""
    spec = metric.format.replace("d", ".0f") if metric.format.endswith("d") else metric.format
    if average and metric.unit == "count":
        spec = ",.1f"
    try:
        text = format(value, spec)
    except ValueError:  # a format Python does not read (d3's `$`, `s`, ...): plain
        text = f"{value:,.2f}"
    return f"{currency} {text}" if metric.unit == "money" else text


def _compared(metric: Metric, day: dt.date, weeks: int, shown: str) -> str:
    """What the day was compared with, for the message: `the 4 previous Tuesdays' average of 13.8`."""
    days = f"the previous {_weekday(day)}" if weeks == 1 else f"the {weeks} previous {_weekday(day)}s"
    if metric.is_ratio:
        return f"{shown} on {days}"
    return f"{days}'s {shown}" if weeks == 1 else f"{days}' average of {shown}"


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


# -- the warehouse ---------------------------------------------------------------------------------------------
def _query(
    client: Client,
    metric: Metric,
    by: Sequence[str],
    where: Mapping[str, str | Sequence[str]],
    period: tuple[dt.date, dt.date] | None = None,
) -> dict[Key, float | None]:
    """The metric per value of `by` (the metrics layer's SQL), as {(by values...): value}."""
    compiled = compile_query(metric, by, where, period)
    result = client.query(compiled.sql, parameters=compiled.parameters)
    return {tuple(row[:-1]): _number(row[-1]) for row in result.result_rows}


@dataclass(frozen=True)
class Rule:
    """One metric rule as evaluated: its row's id and name, its parameters and its metric."""

    row: AlertRule
    params: MetricParams
    metric: Metric

    @property
    def by(self) -> list[str]:
        return [self.params.by] if self.params.by else []

    @property
    def time_dimension(self) -> str:
        assert self.metric.time_dimension is not None  # check_metric refuses a metric without a date
        return self.metric.time_dimension


def _subject(rule: Rule, key: Key) -> str:
    if not rule.params.by:
        return "all"
    return f"{rule.params.by}:{key[0]}"[:SUBJECT_MAX]


def _finding(rule: Rule, key: Key, message: str, values: dict[str, Any], hospitals: Hospitals) -> Finding:
    value = key[0] if key else None
    common = {"metric": rule.metric.key, "label": rule.metric.label, "condition": rule.params.condition,
              "threshold": rule.params.threshold, "by": rule.params.by,
              "by_value": None if value is None else str(value)}  # fmt: skip
    return Finding(subject=_subject(rule, key), message=message, values={**common, **values},
                   hospital_id=hospitals.hospital_id(rule.params.by, value))  # fmt: skip


def _where(rule: Rule, key: Key, hospitals: Hospitals) -> str:
    """` at City Hospital 3` / ` for Astana Medical Partner` / `` (no `by`)."""
    if not rule.params.by:
        return ""
    preposition = "at" if rule.params.by.startswith(("hospital", "machine")) else "for"
    return f" {preposition} {hospitals.shown(rule.params.by, key[0])}"


def weekday_drop(client: Client, rule: Rule, day: dt.date, hospitals: Hospitals, currency: str) -> list[Finding]:
    """`drop_vs_weekday_average`: the day against the same weekday of the weeks before (see the module)."""
    params, metric, by = rule.params, rule.metric, rule.by
    earlier = [day - dt.timedelta(weeks=k) for k in range(1, params.weeks + 1)]
    earlier_days = {rule.time_dimension: [d.isoformat() for d in earlier]}
    latest = _query(client, metric, by, {}, (day, day + dt.timedelta(days=1)))
    baseline: dict[Key, float]
    if metric.is_ratio:
        # The ratio over those weekdays together, as the metrics layer computes it (an average of daily ratios
        # would weigh a quiet day like a busy one).
        baseline = {k: v for k, v in _query(client, metric, by, earlier_days).items() if v is not None}
    else:
        totals: dict[Key, float] = {}
        for (_, *rest), value in _query(client, metric, [rule.time_dimension, *by], earlier_days).items():
            totals[tuple(rest)] = totals.get(tuple(rest), 0.0) + (value or 0.0)
        baseline = {k: total / params.weeks for k, total in totals.items()}  # a weekday without rows: 0
    findings = []
    for key, average in sorted(baseline.items(), key=lambda item: str(item[0])):
        value = latest.get(key)
        if value is None and not metric.is_ratio:
            value = 0.0  # rows in the weeks before, none on the day: nothing sold
        if value is None or average <= 0 or value >= average * (1 - params.threshold / 100):
            continue
        change = value / average - 1
        baseline_shown = shown_value(metric, average, currency, average=params.weeks > 1)
        message = (
            f"{metric.label}{_where(rule, key, hospitals)} on {day.isoformat()} ({_weekday(day)}): "
            f"{shown_value(metric, value, currency)}, down {-change:.0%} from "
            f"{_compared(metric, day, params.weeks, baseline_shown)}."
        )
        values = {"day": day.isoformat(), "value": value, "average": average, "change": change,
                  "weeks": params.weeks, "compared_days": [d.isoformat() for d in earlier]}  # fmt: skip
        findings.append(_finding(rule, key, message, values, hospitals))
    return findings


def _period(params: MetricParams, day: dt.date) -> tuple[dt.date, dt.date] | None:
    after = day + dt.timedelta(days=1)
    return {"day": (day, after), "month": (day.replace(day=1), after), "all": None}[params.period]


def _period_text(params: MetricParams, day: dt.date) -> str:
    if params.period == "day":
        return f" on {day.isoformat()} ({_weekday(day)})"
    if params.period == "month":
        return f" in {MONTHS[day.month - 1]} {day.year} to {day.isoformat()}"
    return " to date"


def against_line(client: Client, rule: Rule, day: dt.date, hospitals: Hospitals, currency: str) -> list[Finding]:
    """`above` / `below`: the period's value against the line (see the module)."""
    params, metric, by = rule.params, rule.metric, rule.by
    period = _period(params, day)
    values = _query(client, metric, by, {}, period)
    if params.condition == "below" and by and not metric.is_ratio and period is not None:
        seen = _query(client, metric, by, {}, (period[0] - dt.timedelta(weeks=params.weeks), period[1]))
        values = {**dict.fromkeys(seen, 0.0), **values}  # seen before, silent in the period: 0
    findings = []
    for key, value in sorted(values.items(), key=lambda item: str(item[0])):
        if value is None and not metric.is_ratio:
            value = 0.0  # a sum over no rows
        if value is None:
            continue
        holds = value > params.threshold if params.condition == "above" else value < params.threshold
        if not holds:
            continue
        line = shown_value(metric, params.threshold, currency)
        message = (
            f"{metric.label}{_where(rule, key, hospitals)}{_period_text(params, day)}: "
            f"{shown_value(metric, value, currency)}, {params.condition} the line of {line}."
        )
        details = {"value": value, "period": params.period, "day": day.isoformat()}
        if period is not None:
            details["from"], details["to"] = period[0].isoformat(), (period[1] - dt.timedelta(days=1)).isoformat()
        findings.append(_finding(rule, key, message, details, hospitals))
    return findings


def findings_for(client: Client, rule: Rule, day: dt.date, hospitals: Hospitals, currency: str) -> list[Finding]:
    if rule.params.condition == "drop_vs_weekday_average":
        return weekday_drop(client, rule, day, hospitals, currency)
    return against_line(client, rule, day, hospitals, currency)


# -- the rules ---------------------------------------------------------------------------------------------------
def _metric_rules(store: Store) -> list[AlertRule]:
    with store.read() as session:
        rules = list(
            session.scalars(
                select(AlertRule)
                .where(AlertRule.kind == "metric", AlertRule.enabled.is_(True), AlertRule.deleted_at.is_(None))
                .order_by(AlertRule.id)
            ).all()
        )
        session.expunge_all()
    return rules


def _checked(row: AlertRule) -> Rule:
    """The rule's parameters and metric, checked as when it was written (the marts may have changed since)."""
    params = MetricParams.model_validate(row.params)
    check_metric(params)
    metric = next(m for m in project_metrics() if m.key == params.metric)
    return Rule(row, params, metric)


def _client(settings: Settings) -> Client:
    try:
        return reader_client(settings)
    except WarehouseUnavailable as err:
        raise WarehouseUnavailable(f"metric alert rules cannot be evaluated: {err}") from None


def evaluate_metric_rules(store: Store, settings: Settings, now: dt.datetime | None = None) -> Observed:
    """Evaluate every enabled metric rule on the warehouse once, for the latest complete day at `now` (default: the
    clock; see the module), and bring each rule's alerts in line with what holds.

    A rule that cannot be evaluated (a metric since removed from the marts, a mart not built) is logged and the
    others go on; a warehouse that does not answer raises WarehouseUnavailable (the Airflow task fails)."""
    now = now or utcnow()
    rows = _metric_rules(store)
    total = Observed()
    if not rows:
        return total  # nothing to ask: the warehouse need not even be up
    hospitals = Hospitals.read(store)
    day = latest_complete_day(now, {settings.business.time_zone, *hospitals.zones})
    currency = settings.business.currency
    client = _client(settings)
    for row in rows:
        try:
            rule = _checked(row)
            findings = findings_for(client, rule, day, hospitals, currency)
        except OperationalError as err:  # the connection, not the rule: every other rule would fail the same way
            raise WarehouseUnavailable(f"the warehouse stopped answering while evaluating metric alert rule "
                                       f"{row.name!r}: {err}") from None  # fmt: skip
        except ServiceError as err:
            log.error("metric alert rule %d (%s) is invalid now: %s %s", row.id, row.name, err.message, err.fields)
            continue
        except Exception:  # one broken rule must not silence the others
            log.exception("metric alert rule %d (%s) could not be evaluated", row.id, row.name)
            continue
        observed = evaluate_rule(store, row, findings, now)
        log.info("metric alert rule %s on %s: %d holding; %d raised, %d reopened, %d reminded, %d resolved",
                 row.name, day, len(findings), observed.raised, observed.reopened, observed.reminded,
                 observed.resolved)  # fmt: skip
        total += observed
    return total
