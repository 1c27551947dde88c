"""Columns and rows covering ClickHouse's tricky types, shared by the checks in both client venvs
(stdlib only: the Superset venv imports this file too)."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
import zoneinfo

MOSCOW = zoneinfo.ZoneInfo("Europe/Moscow")
UTC = dt.timezone.utc  # noqa: UP017 - importable by the Superset venv's Python as well

TYPED_COLUMNS = {
    "id": "UInt32",
    "price": "Decimal(18, 4)",
    "big": "Decimal(38, 10)",
    "note": "Nullable(String)",
    "qty": "Nullable(Int32)",
    "city": "LowCardinality(String)",
    "tag": "LowCardinality(Nullable(String))",
    "nums": "Array(Int64)",
    "names": "Array(Nullable(String))",
    "attrs": "Map(String, UInt16)",
    "pair": "Tuple(Int32, String)",
    "uid": "UUID",
    "at": "DateTime64(3, 'Europe/Moscow')",
    "at_utc": "DateTime64(6, 'UTC')",
    "color": "Enum8('red' = 1, 'green' = 2)",
    "level": "Enum16('low' = -1000, 'high' = 1000)",
}
TYPED_ROWS = [
    [
        1,
        decimal.Decimal("123.4567"),
        decimal.Decimal("-1234567890123456789012345678.0123456789"),
        None,
        None,
        "Москва",
        None,
        [1, -2, 9_000_000_000],
        ["a", None, ""],
        {"x": 1, "y": 65535},
        (7, "seven"),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        dt.datetime(2024, 5, 1, 12, 30, 45, 123000, tzinfo=MOSCOW),
        dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        "red",
        "low",
    ],
    [
        2,
        decimal.Decimal("-0.0001"),
        decimal.Decimal("0.0000000001"),
        'it\'s a "note"\twith\\escapes\n',
        -42,
        "Казань",
        "vip",
        [],
        [],
        {},
        (-5, ""),
        uuid.UUID(int=0),
        dt.datetime(2020, 1, 1, 0, 0, 0, 1000, tzinfo=UTC),  # another zone: the same instant must come back
        dt.datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC),
        "green",
        "high",
    ],
]
