"""Subscription schedules: a five-field cron expression evaluated in an IANA time zone (croniter, zoneinfo).

A subscription is due when its latest fire time is later than the last one it was planned for (or, for a
new subscription, later than its creation): a new subscription starts with the next fire time, and a
scheduler that was down for a while plans only the latest missed fire time (backfill a period with
`pulse reports run NAME --period ...`).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter  # type: ignore[import-untyped]

ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def check_cron(expression: str) -> str:
    """The expression, stripped, if it is a five-field cron that fires; else ValueError saying why."""
    text = " ".join(expression.split())
    if text.lower() not in ALIASES and len(text.split(" ")) != 5:
        raise ValueError("must have five fields (minute hour day-of-month month day-of-week), e.g. '0 7 1 * *'")
    try:
        croniter(text, dt.datetime(2026, 1, 1, tzinfo=dt.UTC)).get_next(dt.datetime)
    except CroniterBadDateError:
        raise ValueError("never fires (no date matches it)") from None
    except CroniterError as err:
        raise ValueError(f"is not a valid cron expression: {err}") from None
    return text


def check_time_zone(name: str) -> str:
    """The name if it is an IANA time zone known here, else ValueError."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone, e.g. Europe/Moscow or UTC") from None
    return name


def previous_fire(cron: str, time_zone: str, now: dt.datetime) -> dt.datetime:
    """The latest fire time at or before `now`, as a local time in the subscription's zone."""
    local_now = now.astimezone(ZoneInfo(time_zone))
    it = croniter(cron, local_now + dt.timedelta(microseconds=1))  # a fire time exactly at `now` counts
    fired: dt.datetime = it.get_prev(dt.datetime)
    return fired


def next_fire(cron: str, time_zone: str, now: dt.datetime) -> dt.datetime:
    """The first fire time after `now`, local to the subscription's zone."""
    fired: dt.datetime = croniter(cron, now.astimezone(ZoneInfo(time_zone))).get_next(dt.datetime)
    return fired


def due_fire(
    cron: str, time_zone: str, *, last_fired_at: dt.datetime | None, created_at: dt.datetime, now: dt.datetime
) -> dt.datetime | None:
    """The fire time to plan now, or None when the subscription is not due."""
    fired = previous_fire(cron, time_zone, now)
    floor = last_fired_at or created_at
    return fired if fired > floor else None
