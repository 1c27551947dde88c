"""Subscription schedules: fire times in the subscription's time zone, and when a subscription is due."""

from __future__ import annotations

import datetime as dt

from pulse.core.schedule import due_fire, next_fire, previous_fire

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
