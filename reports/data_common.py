"""What every report's data loader shares: the error type, parameter parsing, and the warehouse's conventions
(company time zone and reporting currency, read from the dbt project so there is one source of truth)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from clickhouse_connect.driver.client import Client

from pulse.core.business import week_from_label
from pulse.core.console import PulseError
from pulse.core.settings import get_settings

MONTH_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
WEEK_PATTERN = re.compile(r"^(\d{4})-W(0[1-9]|[1-4]\d|5[0-3])$")


class ReportDataError(PulseError):
    """A report cannot be computed correctly for these parameters (unknown recipient, missing FX rate, bad
    period, marts out of step). Raised instead of ever printing a wrong number; `hint` says what to do."""

    def __init__(self, kind: str, params: Mapping[str, str], message: str, hint: str = "") -> None:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
        super().__init__(f"{kind} ({shown}): {message}", hint=hint)
        self.kind = kind
        self.params = dict(params)

    def __reduce__(self) -> tuple[Any, ...]:
        # Picklable across a process pool (Exception's default reduce passes only the formatted message).
        return (_rebuild_error, (self.kind, self.params, str(self), self.hint))


def _rebuild_error(kind: str, params: dict[str, str], text: str, hint: str) -> ReportDataError:
    error = ReportDataError.__new__(ReportDataError)
    PulseError.__init__(error, text, hint)
    error.kind, error.params = kind, params
    return error


def company_time_zone() -> str:
    return get_settings().business.time_zone


def require(kind: str, params: Mapping[str, str], *names: str) -> list[str]:
    missing = [n for n in names if not str(params.get(n, "")).strip()]
    if missing:
        raise ReportDataError(
            kind, params, f"missing parameter(s) {', '.join(missing)}", hint=f"{kind} needs {', '.join(names)}"
        )
    return [str(params[n]).strip() for n in names]


def parse_id(kind: str, params: Mapping[str, str], name: str) -> int:
    (text,) = require(kind, params, name)
    if not text.isdigit():
        raise ReportDataError(
            kind, params, f"{name} must be a whole number, got {text!r}", hint=f"pass the warehouse's {name}, e.g. 42"
        )
    return int(text)


def parse_month(kind: str, params: Mapping[str, str], name: str = "period") -> dt.date:
    """'2026-03' -> 2026-03-01."""
    (text,) = require(kind, params, name)
    match = MONTH_PATTERN.match(text)
    if not match:
        raise ReportDataError(kind, params, f"{name} must be a month as YYYY-MM, got {text!r}", hint="e.g. 2026-03")
    return dt.date(int(match[1]), int(match[2]), 1)


def parse_week(kind: str, params: Mapping[str, str], name: str = "week") -> dt.date:
    """'2026-W11' -> the first day of the business week named by ISO week 11 of 2026: its Monday, or the Sunday
    before it when weeks start on Sunday (PULSE_WEEK_START)."""
    (text,) = require(kind, params, name)
    match = WEEK_PATTERN.match(text)
    try:
        if not match:
            raise ValueError(text)
        return week_from_label(int(match[1]), int(match[2]), get_settings().business.week_start)
    except ValueError:
        raise ReportDataError(
            kind, params, f"{name} must be an ISO week as YYYY-Www, got {text!r}", hint="e.g. 2026-W11"
        ) from None


def query_rows(client: Client, sql: str, parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows as dicts (column name -> value); `parameters` are bound server-side ({name:Type} in the SQL)."""
    result = client.query(sql, parameters=dict(parameters))
    names = result.column_names
    return [dict(zip(names, row, strict=True)) for row in result.result_rows]
