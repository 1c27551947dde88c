"""Schedules, periods, tokens and message details that need no server: fire times in the subscription's time
zone, the period a fire time reports on, due logic, Message-IDs, the DATA payload and the plain-text body."""

from __future__ import annotations

import datetime as dt

import pytest

from operational_api.unsubscribe import BadToken, make_token, read_token
from pulse.core.report_kinds import SPECS, spec_for
from pulse.core.schedule import due_fire, next_fire, previous_fire
from reports.mail import html_to_text, message_id
from reports.smtp import dot_stuffed

UTC = dt.UTC


def test_fire_times_are_in_the_subscription_time_zone() -> None:
    now = dt.datetime(2026, 11, 1, 4, 30, tzinfo=UTC)  # 07:30 in Moscow, 13:30 in Vladivostok (+10)
    assert previous_fire("0 7 1 * *", "Europe/Moscow", now) == dt.datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
    assert previous_fire("0 7 1 * *", "Asia/Vladivostok", now) == dt.datetime(2026, 10, 31, 21, 0, tzinfo=UTC)
    assert next_fire("0 7 1 * *", "Europe/Moscow", now) == dt.datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
    exactly = dt.datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
    assert previous_fire("0 7 1 * *", "Europe/Moscow", exactly) == exactly  # a fire time at `now` counts


def test_a_subscription_is_due_once_per_fire_time_and_not_before_it_existed() -> None:
    created = dt.datetime(2026, 10, 15, tzinfo=UTC)
    kw = {"created_at": created}
    assert due_fire("0 8 1 * *", "UTC", last_fired_at=None, now=dt.datetime(2026, 10, 20, tzinfo=UTC), **kw) is None
    fired = due_fire("0 8 1 * *", "UTC", last_fired_at=None, now=dt.datetime(2026, 11, 3, tzinfo=UTC), **kw)
    assert fired == dt.datetime(2026, 11, 1, 8, tzinfo=UTC)
    assert due_fire("0 8 1 * *", "UTC", last_fired_at=fired, now=dt.datetime(2026, 11, 20, tzinfo=UTC), **kw) is None
    # A scheduler down for two months plans only the latest fire time (older periods: run --period).
    late = due_fire("0 8 1 * *", "UTC", last_fired_at=fired, now=dt.datetime(2027, 1, 5, tzinfo=UTC), **kw)
    assert late == dt.datetime(2027, 1, 1, 8, tzinfo=UTC)


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


def test_unsubscribe_tokens_round_trip_and_resist_tampering() -> None:
    token = make_token(b"k", 7, "Anna@Example.RU")
    assert read_token(b"k", token) == (7, "anna@example.ru")
    with pytest.raises(BadToken):
        read_token(b"other key", token)
    mac = token.split(".")[1]
    forged = make_token(b"k", 8, "anna@example.ru").split(".")[0]
    with pytest.raises(BadToken):
        read_token(b"k", f"{forged}.{mac}")
    with pytest.raises(BadToken):
        read_token(b"k", "x" * 700)


def test_message_ids_are_stable_per_statement() -> None:
    a = message_id(3, "Anna@example.ru", "2026-10", "abc", "Pulse <reports@pulse.example.com>")
    assert a == message_id(3, "anna@example.ru", "2026-10", "abc", "reports@pulse.example.com")
    assert a.endswith("@pulse.example.com>") and a.startswith("<report.3.2026-10.")
    assert a != message_id(3, "anna@example.ru", "2026-11", "abc", "reports@pulse.example.com")


def test_data_payload_is_dot_stuffed_with_crlf() -> None:
    assert dot_stuffed(b"a\n.b\r\n..c\rd") == b"a\r\n..b\r\n...c\r\nd\r\n.\r\n"


def test_plain_text_alternative_keeps_words_and_links() -> None:
    html = (
        "<html><head><style>p{color:red}</style></head><body><p>Hello &amp; welcome,</p>"
        "<table><tr><td>Balance</td><td>1 000,00 ₽</td></tr></table>"
        '<p>Unsubscribe: <a href="https://x.example/u/1">here</a></p></body></html>'
    )
    text = html_to_text(html)
    assert "color" not in text and "Hello & welcome," in text
    assert "Balance 1 000,00 ₽" in text and "here (https://x.example/u/1)" in text
