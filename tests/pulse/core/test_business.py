"""The business profile: one set of settings (currency, time zone, language, week, fiscal year), defaulting to the
demo profile's, validated where it is read, and handed on to dbt, the statements' weeks and Superset's formats."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import get_args

import pytest
from pydantic import ValidationError

from pulse.core.business import PROFILES, DemoProfile, first_day_of_week, number_format, week_from_label, week_label
from pulse.core.report_kinds import spec_for
from pulse.core.settings import Settings
from pulse.dbt.runner import dbt_env


def test_the_demo_profile_setting_names_exactly_the_profiles() -> None:
    assert set(get_args(DemoProfile)) == set(PROFILES)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_the_business_settings_default_to_the_demo_profile(tmp_path: Path, profile: str) -> None:
    assert Settings(home=tmp_path, demo_profile=profile).business == PROFILES[profile]


def test_a_business_setting_given_wins_over_the_profile(tmp_path: Path) -> None:
    business = Settings(
        home=tmp_path, demo_profile="us-vending", reporting_currency="eur", week_start="monday"
    ).business
    assert (business.currency, business.week_start, business.time_zone) == ("EUR", "monday", "America/New_York")


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("reporting_currency", "XYZ", "not an ISO 4217 currency code"),
        ("company_time_zone", "America/Gotham", "not an IANA time zone"),
        ("default_locale", "fr", "not a report language"),
        ("fiscal_year_start_month", 13, "less than or equal to 12"),
        ("week_start", "friday", "'monday' or 'sunday'"),
    ],
)
def test_a_business_setting_nobody_can_use_is_refused_naming_it(
    tmp_path: Path, field: str, value: object, reason: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(home=tmp_path, **{field: value})  # type: ignore[arg-type]
    assert caught.value.errors()[0]["loc"] == (field,) and reason in str(caught.value)


def test_dbt_gets_the_business_as_its_vars(tmp_path: Path) -> None:
    env = dbt_env(Settings(home=tmp_path, demo_profile="us-vending", fiscal_year_start_month=10))
    assert {k: env[k] for k in ("PULSE_REPORTING_CURRENCY", "PULSE_COMPANY_TIME_ZONE", "PULSE_WEEK_START")} == {
        "PULSE_REPORTING_CURRENCY": "USD", "PULSE_COMPANY_TIME_ZONE": "America/New_York", "PULSE_WEEK_START": "sunday"
    }  # fmt: skip
    assert env["PULSE_FISCAL_YEAR_START_MONTH"] == "10"


@pytest.mark.parametrize(
    ("locale", "currency", "decimal", "thousands", "symbol", "first"),
    [("en", "USD", ".", ",", "$", True), ("ru", "RUB", ",", "\u00a0", "₽", False), ("en", "EUR", ".", ",", "€", True),
     ("ru", "USD", ",", "\u00a0", "$", False)],
)  # fmt: skip
def test_numbers_are_written_the_readers_way(
    locale: str, currency: str, decimal: str, thousands: str, symbol: str, first: bool
) -> None:
    found = number_format(locale, currency)
    assert (found.decimal, found.thousands, found.symbol, found.symbol_first) == (decimal, thousands, symbol, first)
    d3 = found.d3_locale()
    assert d3["currency"] == ([symbol, ""] if first else ["", f"\u00a0{symbol}"])


def test_weeks_start_on_the_business_first_day_and_keep_iso_names() -> None:
    wednesday = dt.date(2026, 3, 11)  # ISO week 2026-W11 runs Monday 9 - Sunday 15 March
    assert first_day_of_week(wednesday, "monday") == dt.date(2026, 3, 9)
    assert first_day_of_week(wednesday, "sunday") == dt.date(2026, 3, 8)
    assert first_day_of_week(dt.date(2026, 3, 15), "sunday") == dt.date(2026, 3, 15)
    assert week_label(dt.date(2026, 3, 9)) == week_label(dt.date(2026, 3, 8)) == "2026-W11"
    assert week_from_label(2026, 11, "monday") == dt.date(2026, 3, 9)
    assert week_from_label(2026, 11, "sunday") == dt.date(2026, 3, 8)
    assert week_label(week_from_label(2027, 1, "sunday")) == "2027-W01"


@pytest.mark.parametrize(("week_start", "fired"), [("monday", dt.date(2026, 3, 16)), ("sunday", dt.date(2026, 3, 15))])
def test_a_weekly_report_reports_the_last_complete_business_week(
    process_settings: Callable[..., None], week_start: str, fired: dt.date
) -> None:
    process_settings(PULSE_WEEK_START=week_start)
    assert spec_for("executive_weekly").period_for(fired) == "2026-W11"
    assert spec_for("executive_weekly").period_for(fired + dt.timedelta(days=6)) == "2026-W11"
