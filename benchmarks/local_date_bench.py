"""Local dates in per-row IANA time zones: what `macros/local_time.sql` does (one constant-zone branch per zone present,
found when the model compiles) against the one alternative ClickHouse offers without a list, a non-constant time zone
argument (`formatDateTime(ts, '%F', tz)` with allow_nonconst_timezone_arguments; `toDate(ts, tz)` refuses a column).

Rows: UTC timestamps three seconds apart from 2026-01-01 (so across the March DST change), each with one of ten zones
(the Russian ones, New York, Phoenix, Honolulu). Both correct variants must agree to the day (a checksum of the dates);
a UTC date (wrong for every zone) is the floor. Run in the embedded engine (chdb), median of three.

Run: `.venv/bin/python benchmarks/local_date_bench.py [--rows 10000000]`
"""

from __future__ import annotations

import argparse
import statistics
import time

import chdb

ZONES = ("Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Omsk", "Asia/Novosibirsk", "Asia/Krasnoyarsk",
         "Asia/Vladivostok", "America/New_York", "America/Phoenix", "Pacific/Honolulu")  # fmt: skip


def variants(rows: int) -> dict[str, str]:
    zones = "[" + ", ".join(f"'{zone}'" for zone in ZONES) + "]"
    source = (
        f"(SELECT toDateTime64('2026-01-01 00:00:00', 6, 'UTC') + number * 3 AS ts, {zones}[number % {len(ZONES)} + 1]"
        f" AS tz FROM numbers({rows}))"
    )
    branches = "multiIf(" + ", ".join(f"tz = '{zone}', toDate(ts, '{zone}')" for zone in ZONES) + ", toDate(ts, 'UTC'))"
    return {
        "branches per zone (Pulse)": f"SELECT sum(toUInt32({branches})) FROM {source}",
        "non-constant tz": f"SELECT sum(toUInt32(toDate(formatDateTime(ts, '%F', tz)))) FROM {source}"
        " SETTINGS allow_nonconst_timezone_arguments = 1",
        "UTC date (wrong; floor)": f"SELECT sum(toUInt32(toDate(ts, 'UTC'))) FROM {source}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, tuple[float, str]] = {}
    for name, sql in variants(args.rows).items():
        rounds = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            checksum = str(chdb.query(sql, "CSV")).strip()
            rounds.append(time.perf_counter() - started)
        results[name] = (statistics.median(rounds), checksum)
    ours, ours_checksum = results["branches per zone (Pulse)"]
    print(f"{args.rows:,} rows, {len(ZONES)} zones, median of {args.rounds}")
    for name, (seconds, checksum) in results.items():
        agrees = "same dates" if checksum == ours_checksum else "other dates"
        print(f"  {name:28s} {seconds:6.2f} s   {seconds / ours:5.2f} x Pulse   ({agrees})")
    if results["non-constant tz"][1] != ours_checksum:
        raise SystemExit("the two correct variants disagree")


if __name__ == "__main__":
    main()
