"""Report kinds: the period a fire time reports on, and periods given by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from pulse.core.report_kinds import SPECS, spec_for


@pytest.mark.parametrize(
    ("kind", "fired", "period"),
    [
        ("customer_statement", dt.date(2026, 11, 1), "2026-10"),
        ("hospital_statement", dt.date(2027, 1, 1), "2026-12"),  # across the year
        ("executive_weekly", dt.date(2026, 11, 23), "2026-W47"),  # Monday of week 48 reports week 47
        ("executive_weekly", dt.date(2027, 1, 4), "2026-W53"),  # 2026 has 53 ISO weeks
    ],
)
def test_the_period_is_the_one_before_the_fire_time(kind: str, fired: dt.date, period: str) -> None:
    assert spec_for(kind).period_for(fired) == period
    assert spec_for(kind).check_period(period) == period


def test_periods_are_checked() -> None:
    with pytest.raises(ValueError, match="takes YYYY-MM"):
        SPECS["customer_statement"].check_period("2026-13")
    with pytest.raises(ValueError, match="has no ISO week 53"):
        SPECS["executive_weekly"].check_period("2025-W53")
    with pytest.raises(ValueError, match="unknown report kind"):
        spec_for("horoscope")
