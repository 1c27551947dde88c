"""The report kinds, defined once: each one's parameters and the period it covers.

The store's `report_kind` enum, the subscription API, recipient queries, delivery and the renderer's catalogue
(reports/catalogue.py) all read them from here.

Monthly statements cover the month before the schedule fired (a run on 1 November states October); the
executive summary covers the ISO week before (a run on Monday of week 48 reports week 47). A recipient
query may return the period column itself, which then wins over the derived one.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from pulse.core.business import first_day_of_week, week_label
from pulse.core.settings import get_settings

Cadence = Literal["month", "week"]
RECIPIENT_COLUMNS = ("email", "locale", "name")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_WEEK = re.compile(r"^(\d{4})-W(0[1-9]|[1-4]\d|5[0-3])$")


@dataclass(frozen=True)
class KindSpec:
    kind: str
    id_params: tuple[str, ...]  # columns every recipient row must return
    period_param: str  # the parameter holding the period; derived from the fire time when absent
    cadence: Cadence

    @property
    def params(self) -> tuple[str, ...]:
        return (*self.id_params, self.period_param)

    @property
    def allowed_columns(self) -> tuple[str, ...]:
        return (*RECIPIENT_COLUMNS, *self.params)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return ("email", "locale", *self.id_params)

    def period_for(self, fire_local: dt.datetime | dt.date) -> str:
        """The period a run fired at `fire_local` (in the subscription's time zone) reports on."""
        day = fire_local.date() if isinstance(fire_local, dt.datetime) else fire_local
        if self.cadence == "month":
            last_month = day.replace(day=1) - dt.timedelta(days=1)
            return f"{last_month:%Y-%m}"
        # the last complete week, in the business's weeks (Monday or Sunday first)
        return week_label(first_day_of_week(day, get_settings().business.week_start) - dt.timedelta(days=7))

    def check_period(self, text: str) -> str:
        """`text` if it is a period of this report's cadence, else ValueError saying what is expected."""
        if self.cadence == "month":
            if not _MONTH.match(text):
                raise ValueError(f"{text!r} is not a month: {self.kind} takes YYYY-MM, e.g. 2026-10")
            return text
        match = _WEEK.match(text)
        if not match:
            raise ValueError(f"{text!r} is not an ISO week: {self.kind} takes YYYY-Www, e.g. 2026-W47")
        try:
            dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError:
            raise ValueError(f"{text!r}: year {match[1]} has no ISO week {match[2]}") from None
        return text


SPECS: dict[str, KindSpec] = {
    spec.kind: spec
    for spec in (
        KindSpec("hospital_statement", ("hospital_id",), "period", "month"),
        KindSpec("customer_statement", ("customer_id",), "period", "month"),
        KindSpec("executive_weekly", (), "week", "week"),
        KindSpec("counterparty_statement", ("counterparty_id",), "period", "month"),
        KindSpec("sales_rep_statement", ("sales_rep_id",), "period", "month"),
    )
}
REPORT_KINDS = tuple(SPECS)


def spec_for(kind: str) -> KindSpec:
    try:
        return SPECS[kind]
    except KeyError:
        raise ValueError(f"unknown report kind {kind!r}: one of {', '.join(REPORT_KINDS)}") from None
