"""When things happen: weekday, holiday and seasonal factors, hospital shift times, local times in any IANA zone.

Local times are converted with zoneinfo, so a US hospital's 07:30 shift start stays 07:30 local across DST changes.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from zoneinfo import ZoneInfo

from simulator.profiles import SimProfile

# Hospital shifts start at these local hours; staff take a kit shortly before the shift starts.
SHIFT_START_HOUR = {"morning": 8.0, "evening": 16.0, "night": 20.0}
SHIFT_WEIGHTS = {"doctor": [0.62, 0.23, 0.15], "nurse": [0.45, 0.30, 0.25], "other": [0.70, 0.20, 0.10]}
SHIFTS = ["morning", "evening", "night"]


def weekday_factor(day: dt.date, role: str, profile: SimProfile) -> float:
    """Weekends and public holidays are quieter: planned surgery stops, only duty staff work (nurses keep more
    shifts)."""
    if day.weekday() < 5 and not profile.holidays(day):
        return 1.0
    return 0.55 if role == "nurse" else 0.35


def season_factor(day: dt.date) -> float:
    """Summer holidays (July-August) and the New Year break (1-8 January) dip; autumn-winter peaks."""
    if day.month == 1 and day.day <= 8:
        return 0.45
    yearly = 1.0 + 0.08 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 30) / 365.25)
    if day.month in (7, 8):
        yearly *= 0.82
    return yearly


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_to_utc(day: dt.date, local_hour: float, zone: str) -> dt.datetime:
    """UTC of `local_hour` hours after local midnight of `day` in `zone` (wall-clock time: 08:00 is 08:00 local on
    either side of a DST change)."""
    wall = dt.datetime.combine(day, dt.time(), _zone(zone)) + dt.timedelta(hours=local_hour)
    return wall.astimezone(dt.UTC)


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)
