"""Numbers, money, dates and amounts in words for one report locale (Babel and num2words).

Statements print amounts in table columns without a currency sign (the column header names the currency),
so `amount()` is the workhorse; `money()` adds the currency for totals that stand alone. Negative numbers
keep an ASCII minus so a printed statement can be parsed back by machines (the tests do exactly that).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent, get_currency_name
from num2words import num2words

from pulse.core.vocabulary import LOCALES

# The d3-format specifiers the metrics layer declares (pulse/metrics.py) that a report prints: [,][.N](f|d|%).
_D3_FORMAT = re.compile(r"^(,)?(?:\.(\d+))?([fd%])$")
CENT = Decimal("0.01")


class Formatter:
    """Locale-bound formatting helpers, handed to the templates as `fmt`."""

    def __init__(self, locale: str) -> None:
        if locale not in LOCALES:
            raise ValueError(f"unknown report locale {locale!r}")
        self.locale = locale
        self._babel = Locale.parse(locale)

    # Numbers -----------------------------------------------------------------------------------------
    def amount(self, value: Decimal | float | int | None) -> str:
        """Money without a currency: 1,234.50 / 1 234,50; a dash when unknown."""
        if value is None:
            return "—"
        return format_decimal(Decimal(value).quantize(CENT, ROUND_HALF_UP), "#,##0.00", locale=self.locale)

    def money(self, value: Decimal | float | int | None, currency: str) -> str:
        """Money with its currency, the locale's way: RUB 1,234.50 / 1 234,50 ₽."""
        if value is None:
            return "—"
        text = format_currency(Decimal(value).quantize(CENT, ROUND_HALF_UP), currency, locale=self.locale)
        # English puts a bare ISO code right against the number ("RUB1,234.50"); a no-break space reads better.
        if text.startswith(currency):
            text = f"{currency}\u00a0{text[len(currency) :]}"
        elif text.startswith(f"-{currency}"):
            text = f"-{currency}\u00a0{text[len(currency) + 1 :]}"
        return text

    def integer(self, value: int | float | Decimal | None) -> str:
        if value is None:
            return "—"
        return format_decimal(round(value), "#,##0", locale=self.locale)

    def number(self, value: float | Decimal | None, digits: int = 1) -> str:
        if value is None:
            return "—"
        return format_decimal(value, "#,##0." + "0" * digits if digits else "#,##0", locale=self.locale)

    def percent(self, value: float | Decimal | None, digits: int = 1) -> str:
        """A fraction as a percentage: 0.065 -> 6.5%."""
        if value is None:
            return "—"
        pattern = "#,##0." + "0" * digits + "%" if digits else "#,##0%"
        return format_percent(value, pattern, locale=self.locale)

    def metric(self, value: float | Decimal | None, d3_format: str) -> str:
        """A value the way its metric's d3 format says (the format Superset shows it in), in the locale:
        `,.2f` 1,234.57 / 1 234,57; `.1%` 6.5%; `,d` 1,235."""
        if value is None:
            return "—"
        found = _D3_FORMAT.match(d3_format)
        if found is None:
            raise ValueError(f"d3 format {d3_format!r} cannot be printed: use [,][.N](f|d|%)")
        grouping, digits, kind = found.groups()
        places = 0 if kind == "d" else int(digits or 0)
        if kind == "%":
            return self.percent(value, places)
        number = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
        pattern = ("#,##0" if grouping else "0") + ("." + "0" * places if places else "")
        return format_decimal(number, pattern, locale=self.locale)

    def signed_percent(self, value: float | None, digits: int = 1) -> str:
        """A change as +12.3% / -4.0%; a dash when there was nothing to compare with."""
        if value is None:
            return "—"
        text = self.percent(abs(value), digits)
        return ("+" if value > 0 else "-" if value < 0 else "±") + text

    # Dates -------------------------------------------------------------------------------------------
    def date(self, value: dt.date | None) -> str:
        """A day: 05 Mar 2026 (en: the month spelled, so that a US and a British reader read the same day) /
        05.03.2026 (ru)."""
        if value is None:
            return "—"
        return format_date(value, "dd MMM yyyy" if self.locale == "en" else "dd.MM.yyyy", locale=self.locale)

    def long_date(self, value: dt.date) -> str:
        """5 March 2026 / 5 марта 2026 г."""
        return format_date(value, "long", locale=self.locale)

    def month(self, value: dt.date) -> str:
        """A month standing alone: March 2026 / Март 2026."""
        text = format_date(value, "LLLL yyyy", locale=self.locale)
        return text[:1].upper() + text[1:]

    def month_lower(self, value: dt.date) -> str:
        """A month inside a sentence: March 2026 / март 2026 (for "за март 2026 г.")."""
        return format_date(value, "LLLL yyyy", locale=self.locale)

    def weekday(self, value: dt.date) -> str:
        """A weekday in a chart axis: Mo / пн."""
        return format_date(value, "EEEEEE", locale=self.locale)

    def day_range(self, start: dt.date, end: dt.date) -> str:
        """16-22 March 2026 / 16-22 марта 2026 г. (months named once when the range stays in one month)."""
        pattern = "d MMMM yyyy" if self.locale == "en" else "d MMMM yyyy 'г.'"
        if (start.year, start.month) == (end.year, end.month):
            return f"{start.day}\u2013{format_date(end, pattern, locale=self.locale)}"
        first = "d MMMM" if start.year == end.year else pattern
        return f"{format_date(start, first, locale=self.locale)} \u2013 {format_date(end, pattern, locale=self.locale)}"

    # Words -------------------------------------------------------------------------------------------
    def currency_name(self, currency: str) -> str:
        return get_currency_name(currency, locale=self.locale)

    def amount_in_words(self, value: Decimal, currency: str) -> str:
        """The amount spelled out with its currency, as invoices and settlement statements print it."""
        return amount_in_words(value, currency, self.locale)


@lru_cache(maxsize=4096)
def amount_in_words(value: Decimal, currency: str, locale: str) -> str:
    """1234.56 RUB -> "One thousand, two hundred and thirty-four roubles, fifty-six kopeks".

    num2words knows the main currencies of each language; for the others (KZT and CNY in English, CNY in
    Russian) the whole units are spelled out with the currency's Babel name and the fraction as nn/100.
    """
    value = Decimal(value).quantize(CENT, ROUND_HALF_UP)
    negative = value < 0
    value = abs(value)
    try:
        text = str(num2words(value, lang=locale, to="currency", currency=currency))
    except NotImplementedError:
        units = int(value)
        cents = int((value - units) * 100)
        name = get_currency_name(currency, count=units, locale=locale)
        text = f"{num2words(units, lang=locale)} {name} {cents:02d}/100"
    if negative:
        text = ("minus " if locale == "en" else "минус ") + text
    return text[:1].upper() + text[1:]
