"""The business Pulse reports on: its reporting currency, time zone, language, week and fiscal year.

These are settings (`pulse.core.settings`: PULSE_REPORTING_CURRENCY, ...). Each one left unset takes the value of the
demo profile (PULSE_DEMO_PROFILE), so that `PULSE_DEMO_PROFILE=us-vending make demo` is one variable; the profiles'
other half (the simulated hospitals, names and prices) lives in `simulator/profiles.py`. dbt reads the resolved values
as vars (`pulse.dbt.runner.dbt_env`), the statements and the metrics layer read `Settings.business`, Superset's number
format follows the locale (`number_format`).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Literal

from babel import Locale
from babel.numbers import get_currency_symbol, list_currencies

WeekStart = Literal["monday", "sunday"]
DemoProfile = Literal["ru-clinics", "us-vending"]


@dataclass(frozen=True)
class Business:
    currency: str  # ISO 4217: every amount is also reported in it, at the rate of its day
    time_zone: str  # IANA: the company's day (call centre, marketing, executive weeks)
    locale: str  # one of pulse.core.vocabulary.LOCALES: recipients without a language of their own, Superset
    week_start: WeekStart
    fiscal_year_start_month: int  # 1 = the calendar year; 7 = fiscal year 2027 runs July 2026 - June 2027

    def dbt_vars(self) -> dict[str, str]:
        """The environment dbt_project.yml's vars are rendered from (its `env_var()` calls)."""
        return {
            "PULSE_REPORTING_CURRENCY": self.currency,
            "PULSE_COMPANY_TIME_ZONE": self.time_zone,
            "PULSE_WEEK_START": self.week_start,
            "PULSE_FISCAL_YEAR_START_MONTH": str(self.fiscal_year_start_month),
        }


PROFILES: dict[str, Business] = {
    # Russian clinics, a call centre and hospital vending; invoices to insurers in EUR, USD, KZT, CNY.
    "ru-clinics": Business("RUB", "Europe/Moscow", "ru", "monday", 1),
    # A vending network of 136 US hospitals from Hawaii to New York, paid in USD; fiscal years start in July.
    "us-vending": Business("USD", "America/New_York", "en", "sunday", 7),
}


def first_day_of_week(day: dt.date, week_start: WeekStart) -> dt.date:
    """The first day (Monday or Sunday) of the business week `day` is in."""
    offset = day.weekday() if week_start == "monday" else (day.weekday() + 1) % 7
    return day - dt.timedelta(days=offset)


def week_label(first_day: dt.date) -> str:
    """A business week's name, YYYY-Www: the ISO week of its Monday (a Sunday-first week is named by the Monday
    that follows its Sunday)."""
    year, week, _ = first_day_of_week(first_day + dt.timedelta(days=1), "monday").isocalendar()
    return f"{year}-W{week:02d}"


def week_from_label(label_year: int, label_week: int, week_start: WeekStart) -> dt.date:
    """The first day of the business week named YYYY-Www (ValueError if that ISO week does not exist)."""
    monday = dt.date.fromisocalendar(label_year, label_week, 1)
    return monday if week_start == "monday" else monday - dt.timedelta(days=1)


@functools.cache
def iso_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def check_currency(code: str) -> str:
    """An ISO 4217 currency code, upper-case; ValueError naming the code otherwise."""
    if code.upper() not in iso_currencies():
        raise ValueError(f"{code!r} is not an ISO 4217 currency code (e.g. USD, EUR, RUB)")
    return code.upper()


@dataclass(frozen=True)
class NumberFormat:
    """How a locale writes numbers and one currency: separators and the symbol's side."""

    decimal: str
    thousands: str
    symbol: str
    symbol_first: bool

    def d3_locale(self) -> dict[str, object]:
        """d3-format's locale definition (Superset's D3_FORMAT)."""
        space = "\u00a0"
        currency = [self.symbol, ""] if self.symbol_first else ["", f"{space}{self.symbol}"]
        return {"decimal": self.decimal, "thousands": self.thousands, "grouping": [3], "currency": currency}


def number_format(locale: str, currency: str) -> NumberFormat:
    """The separators and currency symbol a reader of `locale` expects: en/USD $1,234.50; ru/RUB 1 234,50 ₽."""
    babel = Locale.parse(locale)
    pattern = babel.currency_formats["standard"].pattern.split(";")[0]
    return NumberFormat(
        decimal=babel.number_symbols["latn"]["decimal"],
        thousands=babel.number_symbols["latn"]["group"],
        symbol=get_currency_symbol(currency, locale=locale),
        symbol_first=pattern.lstrip().startswith("¤"),
    )
