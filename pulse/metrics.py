"""The metrics layer: every business number declared once, beside its mart, in the dbt model's YAML.

A model declares its metrics under `config.meta.metrics` (dbt parses `meta` and `dbt docs` shows it; the
convention follows Lightdash's `meta.metrics`), and the dimensions they may be grouped and filtered by under
`config.meta.dimensions`:

    config:
      meta:
        dimensions: [hospital_name, sales_month]
        metrics:
        - name: commission
          label: Commission
          label_ru: Комиссия
          sql: sum(commission_reporting)
          unit: money
        - name: effective_commission_rate
          label: Commission rate
          label_ru: Ставка комиссии
          ratio: {numerator: commission, denominator: net_sales}
          format: .2%

A metric is an aggregate over the mart's columns (`sql`) or a `ratio` of two metrics (or aggregates). Ratios
are computed in Float64: in ClickHouse `Decimal(38, 2) / Decimal(38, 2)` keeps scale 2, so a Decimal ratio
truncates (6.47% became 6.00%), and an `sql` with a division in it is refused for that reason. Money sums stay
exact Decimals. Superset's dataset metrics (`pulse.superset.assets`) are generated from here.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from pulse.core.console import PulseError
from pulse.core.paths import DBT_PROJECT_DIR
from pulse.core.settings import get_settings

MARTS_DIR = DBT_PROJECT_DIR / "models" / "marts"
MARTS_SCHEMA = "marts"

# money: in the reporting currency (PULSE_REPORTING_CURRENCY); account_money: in each customer account's own currency
# (statements), meaningful summed only over accounts in one currency (the mart's `currency` column).
Unit = Literal["money", "account_money", "count", "ratio", "seconds", "minutes", "days"]
UNITS: tuple[str, ...] = get_args(Unit)
DEFAULT_FORMAT: dict[str, str] = {
    "money": ",.0f", "account_money": ",.2f", "count": ",d", "ratio": ".1%", "seconds": ",.0f", "minutes": ",.0f",
    "days": ",.1f",
}  # fmt: skip
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
_DIVISION = re.compile(r"/|\bdivide\s*\(|\bintDiv", re.IGNORECASE)
_SUM_OF_COLUMN = re.compile(r"^\s*sum\s*\(\s*`?(\w+)`?\s*\)\s*$", re.IGNORECASE)
_DATE_TYPE = re.compile(r"^(Nullable\()?(Date|Date32)\b")
_KEYS = {"name", "label", "label_ru", "description", "sql", "ratio", "unit", "format", "dimensions"}


@dataclass(frozen=True)
class Metric:
    name: str
    model: str
    label: str
    label_ru: str
    description: str | None
    sql: str  # the aggregate expression over the model's columns, compiled (ratios included)
    unit: Unit
    format: str  # d3-format, as Superset and the statements show it
    dimensions: tuple[str, ...]
    time_dimension: str | None  # the first Date dimension: what a period filters on
    is_ratio: bool = False  # a ratio of two aggregates: it does not add up over rows (or days)

    @property
    def key(self) -> str:
        """`model.name`: names one metric across the marts."""
        return f"{self.model}.{self.name}"

    @property
    def table(self) -> str:
        return f"{MARTS_SCHEMA}.{self.model}"


def _fail(path: Path, model: str, message: str) -> PulseError:
    return PulseError(f"{path.name}: model {model}: {message}", "fix the metric under config.meta.metrics")


def _ratio(path: Path, model: str, name: str, ratio: Any, compiled: dict[str, str]) -> str:
    if not isinstance(ratio, dict) or set(ratio) != {"numerator", "denominator"}:
        raise _fail(path, model, f"metric {name}: ratio needs exactly a numerator and a denominator")
    parts = []
    for side in ("numerator", "denominator"):
        term = " ".join(str(ratio[side]).split())
        # A metric of the same model by name (declared above), else an aggregate expression.
        if term not in compiled and _DIVISION.search(term):
            raise _fail(path, model, f"metric {name}: a division in the {side} truncates Decimals; make it a metric")
        parts.append(compiled.get(term, term))
    numerator, denominator = parts
    return f"toFloat64({numerator}) / nullIf(toFloat64({denominator}), 0)"


def model_metrics(path: Path, model: dict[str, Any]) -> list[Metric]:
    """The metrics one model (as its YAML declares it, in `path`) declares, compiled and checked."""
    name = model["name"]
    meta = (model.get("config") or {}).get("meta") or {}
    columns = {c["name"]: c for c in model.get("columns") or []}
    dimensions = tuple(meta.get("dimensions") or ())
    if unknown := [d for d in dimensions if d not in columns]:
        raise _fail(path, name, f"dimensions that are not columns: {', '.join(unknown)}")
    compiled: dict[str, str] = {}
    metrics: list[Metric] = []
    for declared in meta.get("metrics") or []:
        metric_name = declared.get("name", "")
        if not _IDENTIFIER.match(metric_name):
            raise _fail(path, name, f"metric name {metric_name!r} is not a lower-case identifier")
        if extra := set(declared) - _KEYS:
            raise _fail(path, name, f"metric {metric_name}: unknown keys {', '.join(sorted(extra))}")
        if metric_name in columns:
            # ClickHouse resolves a name to a SELECT alias before a column: `sum(paid) AS paid` beside
            # `sum(paid) / sum(leads)` would nest one aggregate in another (ILLEGAL_AGGREGATION).
            raise _fail(path, name, f"metric {metric_name} is named like a column (call it total_{metric_name})")
        if metric_name in compiled:
            raise _fail(path, name, f"metric {metric_name} is declared twice")
        if ("sql" in declared) == ("ratio" in declared):
            raise _fail(path, name, f"metric {metric_name}: give either sql or ratio")
        if "sql" in declared:
            sql = " ".join(str(declared["sql"]).split())
            if _DIVISION.search(sql):
                raise _fail(
                    path, name, f"metric {metric_name}: a division in sql truncates Decimals; declare it as a ratio"
                )
            unit = declared.get("unit", "count")
        else:
            sql = _ratio(path, name, metric_name, declared["ratio"], compiled)
            unit = declared.get("unit", "ratio")
        if unit not in UNITS:
            raise _fail(path, name, f"metric {metric_name}: unit {unit!r} is not one of {', '.join(UNITS)}")
        for key in ("label", "label_ru"):
            if not declared.get(key):
                raise _fail(path, name, f"metric {metric_name}: {key} is missing")
        own = tuple(declared.get("dimensions") or dimensions)
        if unknown := [d for d in own if d not in columns]:
            raise _fail(path, name, f"metric {metric_name}: dimensions that are not columns: {', '.join(unknown)}")
        description = " ".join(str(declared.get("description") or "").split()) or None
        if description is None and (summed := _SUM_OF_COLUMN.match(sql)) and summed.group(1) in columns:
            column_description = columns[summed.group(1)].get("description")
            description = f"Sum of: {' '.join(column_description.split())}" if column_description else None
        compiled[metric_name] = sql
        dated = [d for d in own if _DATE_TYPE.match(columns[d].get("data_type") or "")]
        metrics.append(
            Metric(
                name=metric_name,
                model=name,
                label=declared["label"],
                label_ru=declared["label_ru"],
                description=description,
                sql=sql,
                unit=unit,
                format=declared.get("format", DEFAULT_FORMAT[unit]),
                dimensions=own,
                time_dimension=dated[0] if dated else None,
                is_ratio="ratio" in declared,
            )
        )
    return metrics


def model_yamls(models_dir: Path = MARTS_DIR) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every model declared in the marts' YAML files, with the file that declares it."""
    for path in sorted(models_dir.rglob("*.yml")):
        try:
            content = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise PulseError(f"{path} is not valid YAML: {err}", "fix it (`pulse dbt parse` shows it too)") from err
        for model in content.get("models") or []:
            yield path, model


def load_metrics(models_dir: Path = MARTS_DIR) -> list[Metric]:
    """Every metric of the marts, model by model in declaration order. A name is unique within its model
    (`total_leads` of the funnel and of marketing spend are the same aggregate over different marts)."""
    return [metric for path, model in model_yamls(models_dir) for metric in model_metrics(path, model)]


def reporting_currency() -> str:
    """The currency every money metric is in (the setting dbt's var `reporting_currency` comes from)."""
    return get_settings().business.currency


@functools.cache
def project_metrics() -> tuple[Metric, ...]:
    """The repository's metrics, read once per process (what the statements ask for by name)."""
    return tuple(load_metrics())


def named(model: str, *names: str) -> list[Metric]:
    """The project's metrics of one mart, by name, in the order asked."""
    own = {m.name: m for m in project_metrics() if m.model == model}
    if missing := [n for n in names if n not in own]:
        raise PulseError(f"{model} has no metric {', '.join(missing)}", f"declare it in {model}.yml (meta.metrics)")
    return [own[n] for n in names]


def find(metrics: Sequence[Metric], name: str) -> Metric:
    """A metric by `name` (when one model has it) or by `model.name`."""
    found = [m for m in metrics if name in (m.name, m.key)]
    if len(found) == 1:
        return found[0]
    if found:
        raise PulseError(f"metric {name} is on several marts", f"name one: {', '.join(m.key for m in found)}")
    raise PulseError(f"no metric {name}", "`pulse metrics list` shows every metric")


def parse_period(text: str) -> tuple[dt.date, dt.date]:
    """`2026-11` (a month) or `2026-11-01..2026-11-30` (inclusive days) -> [start, end) dates."""
    try:
        if ".." in text:
            first, last = (dt.date.fromisoformat(part) for part in text.split("..", 1))
            if last < first:
                raise ValueError("the period ends before it starts")
            return first, last + dt.timedelta(days=1)
        start = dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError as err:
        raise PulseError(f"period {text!r}: {err}", "give YYYY-MM or YYYY-MM-DD..YYYY-MM-DD") from None
    return month(start)


def next_month(first_day: dt.date) -> dt.date:
    return (first_day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def month(first_day: dt.date) -> tuple[dt.date, dt.date]:
    """The calendar month starting on `first_day` as a period: [first day, first day of the next month)."""
    return first_day, next_month(first_day)


class FilterError(PulseError):
    """A `where` filter that is not DIMENSION<separator>VALUE; `index` says which one."""

    def __init__(self, message: str, hint: str, index: int) -> None:
        super().__init__(message, hint)
        self.index = index


class DimensionError(PulseError):
    """A dimension a metric cannot be grouped or filtered by."""

    def __init__(self, message: str, hint: str, dimension: str) -> None:
        super().__init__(message, hint)
        self.dimension = dimension


def parse_where(pairs: Sequence[str], separator: str) -> dict[str, str]:
    """`hospital_code=H001` (the CLI) or `hospital_code:H001` (the API) -> {dimension: value}."""
    where: dict[str, str] = {}
    for index, pair in enumerate(pairs):
        dimension, sep, value = pair.partition(separator)
        if not sep or not dimension.strip():
            raise FilterError(f"{pair!r} is not DIMENSION{separator}VALUE", f"e.g. hospital_code{separator}H001", index)
        if dimension.strip() in where:
            raise FilterError(f"{dimension.strip()!r} is filtered twice", "give each dimension once", index)
        where[dimension.strip()] = value
    return where


@dataclass(frozen=True)
class Query:
    sql: str
    parameters: dict[str, object]


def compile_query(
    metric: Metric,
    by: Sequence[str],
    where: Mapping[str, str | Sequence[str]],
    period: tuple[dt.date, dt.date] | None = None,
) -> Query:
    """The metric grouped by dimensions and filtered on dimension values and a period (see compile_metrics)."""
    return compile_metrics([metric], by, where, period)


def compile_metrics(
    metrics: Sequence[Metric],
    by: Sequence[str],
    where: Mapping[str, str | Sequence[str]],
    period: tuple[dt.date, dt.date] | None = None,
    limit: int | None = None,
) -> Query:
    """Metrics of one mart grouped by dimensions and filtered on dimension values (one value, or a list of them)
    and a period, with every value sent as a server-side parameter (never spliced into the SQL). Only dimensions
    every one of the metrics allows are accepted."""
    first = metrics[0]
    if other := [m.key for m in metrics if m.model != first.model]:
        raise PulseError(f"metrics of different marts in one query: {first.key}, {', '.join(other)}", "ask apart")
    if repeated := sorted({d for d in by if list(by).count(d) > 1}):
        raise DimensionError(f"{repeated[0]!r} is grouped by twice", "give each dimension once", repeated[0])
    for metric in metrics:
        for dimension in [*by, *where]:
            if dimension not in metric.dimensions:
                raise DimensionError(
                    f"metric {metric.key} cannot be grouped or filtered by {dimension!r}",
                    f"its dimensions: {', '.join(metric.dimensions)}",
                    dimension,
                )
    conditions: list[str] = []
    parameters: dict[str, object] = {}
    for i, (dimension, value) in enumerate(sorted(where.items())):
        if isinstance(value, str):
            conditions.append(f"toString({dimension}) = {{w{i}:String}}")
            parameters[f"w{i}"] = value
        else:
            conditions.append(f"toString({dimension}) IN {{w{i}:Array(String)}}")
            parameters[f"w{i}"] = [str(v) for v in value]
    if period is not None:
        if first.time_dimension is None:
            raise PulseError(f"metric {first.key} has no date dimension", "leave out --period")
        conditions.append(f"{first.time_dimension} >= {{start:Date}} AND {first.time_dimension} < {{end:Date}}")
        parameters.update(start=period[0], end=period[1])
    selected = [*by, *(f"{m.sql} AS {m.name}" for m in metrics)]
    sql = f"SELECT {', '.join(selected)} FROM {first.table}"
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    if by:
        sql += f" GROUP BY {', '.join(by)} ORDER BY {', '.join(by)}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return Query(sql, parameters)
