"""Subscription schedules: a five-field cron expression evaluated in an IANA time zone (croniter, zoneinfo).

A subscription is due when its latest fire time is later than the last one it was planned for (or, for a
new subscription, later than its creation): a new subscription starts with the next fire time, and a
scheduler that was down for a while plans only the latest missed fire time (backfill a period with
`pulse reports run NAME --period ...`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
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


def next_fires(cron: str, time_zone: str, now: dt.datetime, count: int = 5) -> list[dt.datetime]:
    """The next `count` fire times after `now`, local to the schedule's zone."""
    it = croniter(cron, now.astimezone(ZoneInfo(time_zone)))
    return [it.get_next(dt.datetime) for _ in range(count)]


# -- the human form of a schedule (the portal): monthly on day N, or weekly on a weekday, at a time -------------
FREQUENCIES = ("monthly", "weekly", "daily")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # cron's day-of-week names


@dataclass(frozen=True)
class HumanSchedule:
    frequency: str  # monthly, weekly or daily
    day: int = 1  # of the month (1-28: every month has it)
    weekday: str = "mon"
    hour: int = 7
    minute: int = 0

    def cron(self) -> str:
        """The cron expression; ValueError starting "the <field>" (the portal shows it next to that field)."""
        if self.frequency not in FREQUENCIES:
            raise ValueError(f"the frequency is one of {', '.join(FREQUENCIES)}")
        if not 0 <= self.hour <= 23 or not 0 <= self.minute <= 59:
            raise ValueError("the time is HH:MM, 00:00 to 23:59")
        if self.frequency == "monthly":
            if not 1 <= self.day <= 28:
                raise ValueError("the day of the month is 1 to 28 (every month has it)")
            return f"{self.minute} {self.hour} {self.day} * *"
        if self.frequency == "weekly":
            if self.weekday not in WEEKDAYS:
                raise ValueError(f"the weekday is one of {', '.join(WEEKDAYS)}")
            return f"{self.minute} {self.hour} * * {(WEEKDAYS.index(self.weekday) + 1) % 7}"
        return f"{self.minute} {self.hour} * * *"

    @classmethod
    def of(cls, cron: str) -> HumanSchedule | None:
        """The form that writes `cron`, or None when the cron says more than the form can (edit it as cron)."""
        minute, hour, day, month, weekday = (cron.split() + ["?"] * 5)[:5]
        if not (minute.isdigit() and hour.isdigit() and month == "*"):
            return None
        h, m = int(hour), int(minute)
        if day.isdigit() and weekday == "*" and 1 <= int(day) <= 28:
            return cls("monthly", day=int(day), hour=h, minute=m)
        if day == "*" and weekday.isdigit() and 0 <= int(weekday) <= 7:
            return cls("weekly", weekday=WEEKDAYS[(int(weekday) - 1) % 7], hour=h, minute=m)
        if day == "*" and weekday == "*":
            return cls("daily", hour=h, minute=m)
        return None
