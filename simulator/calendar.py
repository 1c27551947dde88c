"""When things happen: weekday and seasonal factors, hospital shift times, local time zones.

Russian time zones have had fixed offsets since 2014, so a constant offset per zone is exact and avoids
a zoneinfo lookup per event.
"""

from __future__ import annotations

import datetime as dt
import math

# IANA zone, UTC offset in hours, and a few cities in it (hospitals are spread over these).
ZONES: list[tuple[str, int, list[tuple[str, str]]]] = [
    ("Europe/Moscow", 3, [("Москва", "Москва"), ("Санкт-Петербург", "Санкт-Петербург"), ("Казань", "Татарстан"),
                          ("Нижний Новгород", "Нижегородская область"), ("Воронеж", "Воронежская область")]),
    ("Europe/Samara", 4, [("Самара", "Самарская область")]),
    ("Asia/Yekaterinburg", 5, [("Екатеринбург", "Свердловская область"), ("Челябинск", "Челябинская область"),
                               ("Тюмень", "Тюменская область")]),
    ("Asia/Omsk", 6, [("Омск", "Омская область")]),
    ("Asia/Novosibirsk", 7, [("Новосибирск", "Новосибирская область")]),
    ("Asia/Krasnoyarsk", 7, [("Красноярск", "Красноярский край")]),
    ("Asia/Vladivostok", 10, [("Владивосток", "Приморский край")]),
]  # fmt: skip
ZONE_WEIGHTS = [60, 6, 14, 4, 7, 5, 4]
OFFSET_HOURS = {zone: offset for zone, offset, _ in ZONES}

# Hospital shifts start at these local hours; staff take a kit shortly before the shift starts.
SHIFT_START_HOUR = {"morning": 8.0, "evening": 16.0, "night": 20.0}
SHIFT_WEIGHTS = {"doctor": [0.62, 0.23, 0.15], "nurse": [0.45, 0.30, 0.25], "other": [0.70, 0.20, 0.10]}
SHIFTS = ["morning", "evening", "night"]


def weekday_factor(day: dt.date, role: str) -> float:
    """Weekends are quieter: planned surgery stops, only duty staff work (nurses keep more shifts)."""
    if day.weekday() < 5:
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


def local_to_utc(day: dt.date, local_hour: float, zone: str) -> dt.datetime:
    midnight = dt.datetime.combine(day, dt.time(), dt.UTC)
    return midnight + dt.timedelta(hours=local_hour - OFFSET_HOURS[zone])


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)
