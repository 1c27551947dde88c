"""External feeds written to the landing folder, as the systems outside Pulse deliver them:

- `telephony/calls_<day>.csv`: the PBX's call records (every call, also ones the CRM never saw);
- `ad_spend/ad_spend_<day>.csv`: the ad platforms' daily spend per campaign (in the platform's currency);
- `messages/message_events_<day>.jsonl`: SMS/e-mail/messenger delivery events by event time;
- `fx/fx_rates_<day>.csv`: the central bank's daily rates to RUB (business days only).

One file per day, named by the day; rows sorted, fixed formatting: the same seed gives byte-identical
files. `bad_rows` mixes a few malformed rows into some files (for quarantine tests downstream).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from simulator.rng import stream

FEEDS: dict[str, tuple[str, str, list[str]]] = {  # feed: (file prefix, extension, CSV columns)
    "telephony": ("calls", "csv", ["call_id", "started_at", "answered_at", "ended_at", "direction", "operator_id",
                                   "phone", "duration_seconds", "outcome", "recording_url", "is_robot"]),
    "ad_spend": ("ad_spend", "csv", ["date", "platform", "campaign_id", "utm_campaign", "impressions", "clicks",
                                     "spend", "currency"]),
    "messages": ("message_events", "jsonl", []),
    "fx": ("fx_rates", "csv", ["date", "currency", "rate_to_rub"]),
}  # fmt: skip

# Malformed rows per feed: what a real upstream sends on a bad day.
BAD_ROWS: dict[str, list[Any]] = {
    "telephony": [
        {"call_id": "", "started_at": "2026-01-01T10:00:00Z", "direction": "inbound", "duration_seconds": "12"},
        {"call_id": "bad-duration", "started_at": "2026-01-01T10:00:00Z", "direction": "inbound",
         "duration_seconds": "twelve", "outcome": "answered"},
        {"call_id": "bad-time", "started_at": "2026-13-45T25:61:00Z", "direction": "outbound", "duration_seconds": "5"},
    ],
    "ad_spend": [
        {"date": "not-a-date", "platform": "vk_ads", "campaign_id": "vk_ads:0", "spend": "10.00", "currency": "RUB"},
        {"date": "2026-01-01", "platform": "vk_ads", "campaign_id": "vk_ads:0", "clicks": "n/a", "spend": "-5.00",
         "currency": "RUB"},
        {"date": "2026-01-01", "platform": "google_ads", "campaign_id": "google_ads:0", "spend": "3.10",
         "currency": "XX"},
    ],
    "messages": ['{"message_id": "msg-broken", "channel": "sms", "event": "deliv', {"channel": "sms", "event": "sent"},
                 {"message_id": "msg-x", "channel": "pigeon", "event": "exploded", "ts": "yesterday"}],
    "fx": [{"date": "2026-01-01", "currency": "USD", "rate_to_rub": ""},
           {"date": "2026-01-01", "currency": "EUR", "rate_to_rub": "-1"},
           {"date": "01/01/2026", "currency": "usd", "rate_to_rub": "ninety"}],
}  # fmt: skip


def stamp(at: dt.datetime | None) -> str:
    return "" if at is None else at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FeedWriter:
    """Collects feed rows by day; `write` puts them into the landing folder at the end of the run."""

    def __init__(self, landing: Path, first_day: dt.date, last_day: dt.date) -> None:
        self.landing = landing
        self.first_day = first_day
        self.last_day = last_day
        self.rows: dict[tuple[str, dt.date], list[tuple[str, Any]]] = defaultdict(list)

    def add(self, feed: str, day: dt.date, sort_key: str, row: dict[str, Any]) -> None:
        if self.first_day <= day <= self.last_day:
            self.rows[(feed, day)].append((sort_key, row))

    def write(self, *, seed: int, bad_rows: bool, days_for: dict[str, list[dt.date]]) -> dict[str, int]:
        """Write every day's file (`days_for` lists the days each feed delivers a file); rows per feed."""
        bad: dict[tuple[str, dt.date], list[Any]] = defaultdict(list)
        if bad_rows:
            rng = stream(seed, "bad-rows")
            for feed, rows in BAD_ROWS.items():
                if not days_for[feed]:
                    continue  # a feed this business does not receive
                for row in rows:
                    bad[(feed, rng.choice(days_for[feed]))].append(row)
        counts: dict[str, int] = defaultdict(int)
        for feed, days in days_for.items():
            prefix, ext, columns = FEEDS[feed]
            folder = self.landing / feed
            folder.mkdir(parents=True, exist_ok=True)
            for day in days:
                rows = [row for _, row in sorted(self.rows.get((feed, day), []), key=lambda item: item[0])]
                counts[feed] += len(rows)
                extra = bad.get((feed, day), [])
                if ext == "csv":
                    data = self._csv(columns, rows, extra)
                else:
                    lines = [json.dumps(row, ensure_ascii=False, sort_keys=True) for row in rows]
                    for offset, row in enumerate(extra):
                        text = row if isinstance(row, str) else json.dumps(row, sort_keys=True)
                        lines.insert(min(len(lines), 1 + offset * 3), text)
                    data = "".join(line + "\n" for line in lines)
                target = folder / f"{prefix}_{day.isoformat()}.{ext}"
                tmp = target.with_suffix(target.suffix + ".tmp")
                tmp.write_text(data, encoding="utf-8")
                tmp.replace(target)  # readers never see half a file
        return dict(counts)

    @staticmethod
    def _csv(columns: list[str], rows: list[dict[str, Any]], extra: list[Any]) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        body = list(rows)
        for offset, row in enumerate(extra):
            body.insert(min(len(body), 1 + offset * 3), row)
        writer.writerows(body)
        return out.getvalue()
