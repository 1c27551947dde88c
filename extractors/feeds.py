"""Feeds from outside systems, delivered as files into a landing location, loaded once each.

- telephony call records (CSV), ad-platform spend (CSV), SMS/e-mail delivery events (JSONL), FX rates (CSV);
- the landing location is a folder under PULSE_HOME by default and any fsspec URL in production
  (`s3://bucket/landing`, `https://...`): the same code path reads both;
- a file is identified by the SHA-256 of its content: loaded once, and ignored when it is sent again
  (under the same or another name);
- every row is validated: good rows go to `raw.feed_<name>`, bad rows to `raw._quarantine` with the file,
  line and reason. Nothing is dropped silently. The manifest row is written last, so a crash mid-file
  means the file is loaded again; rows are keyed by (file hash, line), so the replacing merge keeps one.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import fsspec
import pyarrow as pa
from clickhouse_connect.driver.client import Client

from extractors.raw_schema import RAW_DATABASE
from operational_api.models.crm import CALL_DIRECTIONS, CALL_OUTCOMES, MESSAGE_CHANNELS, MESSAGE_STATUSES
from warehouse.ddl import WarehouseDDL

QUARANTINE = f"{RAW_DATABASE}._quarantine"
MANIFEST = f"{RAW_DATABASE}._feed_manifest"
_CURRENCY = re.compile(r"[A-Z]{3}")


# -- value parsers: each returns the typed value or raises ValueError with the reason --------------------
def _timestamp(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 timestamp: {text!r}") from None
    return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO date (YYYY-MM-DD): {text!r}") from None


def _count(text: str) -> int:
    if not re.fullmatch(r"\d+", text):
        raise ValueError(f"not a non-negative whole number: {text!r}")
    return int(text)


def _money(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a number: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"must be zero or more: {text!r}")
    return value.quantize(Decimal("0.01"))


def _rate(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a number: {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"an exchange rate must be positive: {text!r}")
    return value.quantize(Decimal("0.00000001"))


def _currency(text: str) -> str:
    if not _CURRENCY.fullmatch(text):
        raise ValueError(f"not an ISO 4217 currency code: {text!r}")
    return text


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _one_of(values: tuple[str, ...]) -> Callable[[str], str]:
    def check(text: str) -> str:
        if text not in values:
            raise ValueError(f"{text!r} is not one of {', '.join(values)}")
        return text

    return check


def _text(text: str) -> str:
    return text


@dataclass(frozen=True)
class Field:
    name: str
    clickhouse_type: str
    arrow_type: pa.DataType
    parse: Callable[[str], Any]
    required: bool = True


def _f(name: str, kind: str, parse: Callable[[str], Any] = _text, required: bool = True) -> Field:
    types = {
        "string": ("String", pa.string()),
        "timestamp": ("DateTime64(3, 'UTC')", pa.timestamp("ms", tz="UTC")),
        "date": ("Date32", pa.date32()),
        "count": ("UInt64", pa.uint64()),
        "money": ("Decimal(18, 2)", pa.decimal128(18, 2)),
        "rate": ("Decimal(18, 8)", pa.decimal128(18, 8)),
        "bool": ("Bool", pa.bool_()),
    }
    ch, arrow = types[kind]
    return Field(name, ch if required else f"Nullable({ch})", arrow, parse, required)


@dataclass(frozen=True)
class Feed:
    name: str
    fmt: str  # csv | jsonl
    fields: tuple[Field, ...]
    description: str

    @property
    def table(self) -> str:
        return f"{RAW_DATABASE}.feed_{self.name}"

    def create_sql(self, ddl: WarehouseDDL | None = None) -> str:
        ddl = ddl or WarehouseDDL.from_settings()
        columns = [f"`{f.name}` {f.clickhouse_type}" for f in self.fields]
        columns += ["_file String", "_file_sha256 String", "_line UInt32", "_loaded_at DateTime64(3, 'UTC')"]
        return (
            f"CREATE TABLE IF NOT EXISTS {self.table}{ddl.on_cluster} (" + ", ".join(columns) + ") "
            f"ENGINE = {ddl.engine('ReplacingMergeTree(_loaded_at)')} ORDER BY (_file_sha256, _line){ddl.table_settings} "
            f"COMMENT '{self.description}'"
        )


STATUS_EVENTS = (*MESSAGE_STATUSES, "bounced")
FEEDS: tuple[Feed, ...] = (
    Feed("telephony", "csv", (
        _f("call_id", "string"), _f("started_at", "timestamp", _timestamp),
        _f("answered_at", "timestamp", _timestamp, required=False), _f("ended_at", "timestamp", _timestamp, False),
        _f("direction", "string", _one_of(CALL_DIRECTIONS)), _f("operator_id", "string", required=False),
        _f("phone", "string", required=False), _f("duration_seconds", "count", _count),
        _f("outcome", "string", _one_of(CALL_OUTCOMES)), _f("recording_url", "string", required=False),
        _f("is_robot", "bool", _bool),
    ), "Call records from the telephony system (PBX), one file per day."),
    Feed("ad_spend", "csv", (
        _f("date", "date", _date), _f("platform", "string"), _f("campaign_id", "string"),
        _f("utm_campaign", "string", required=False), _f("impressions", "count", _count),
        _f("clicks", "count", _count), _f("spend", "money", _money), _f("currency", "string", _currency),
    ), "Daily spend per campaign from the ad platforms, in the platform currency."),
    Feed("messages", "jsonl", (
        _f("message_id", "string"), _f("channel", "string", _one_of(MESSAGE_CHANNELS)),
        _f("event", "string", _one_of(STATUS_EVENTS)), _f("ts", "timestamp", _timestamp),
        _f("template", "string", required=False),
    ), "SMS, e-mail and messenger delivery events from the messaging providers."),
    Feed("fx", "csv", (
        _f("date", "date", _date), _f("currency", "string", _currency), _f("rate_to_rub", "rate", _rate),
    ), "Daily central-bank exchange rates to RUB."),
)  # fmt: skip


@dataclass
class FileLoad:
    feed: str
    file: str
    sha256: str
    rows: int = 0
    quarantined: int = 0
    skipped: bool = False
    seconds: float = 0.0


@dataclass
class _Parsed:
    columns: dict[str, list[Any]]
    bad: list[tuple[int, str, str]] = field(default_factory=list)  # (line, reason, raw text)
    lines: list[int] = field(default_factory=list)


def _records(feed: Feed, text: str) -> Iterator[tuple[int, dict[str, Any] | None, str, str]]:
    """(line number, record or None, reason if None, raw text) for every data line of a file."""
    if feed.fmt == "jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, None, f"invalid JSON: {exc.msg}", line
                continue
            if not isinstance(record, dict):
                yield number, None, "a line must be a JSON object", line
                continue
            yield number, record, "", line
        return
    reader = csv.DictReader(io.StringIO(text))
    missing = [f.name for f in feed.fields if f.required and f.name not in (reader.fieldnames or [])]
    if missing:
        yield 1, None, f"header lacks required columns: {', '.join(missing)}", text.split("\n", 1)[0]
        return
    for record in reader:
        raw = ",".join("" if v is None else str(v) for v in record.values())
        yield reader.line_num, record, "", raw


def parse(feed: Feed, text: str) -> _Parsed:
    parsed = _Parsed({f.name: [] for f in feed.fields})
    for number, record, reason, raw in _records(feed, text):
        if record is None:
            parsed.bad.append((number, reason, raw))
            continue
        values: dict[str, Any] = {}
        problems = []
        for f in feed.fields:
            value = record.get(f.name)
            text_value = "" if value is None else str(value).strip()
            if not text_value:
                if f.required:
                    problems.append(f"{f.name}: required")
                values[f.name] = None
                continue
            try:
                values[f.name] = f.parse(text_value)
            except ValueError as exc:
                problems.append(f"{f.name}: {exc}")
        if problems:
            parsed.bad.append((number, "; ".join(problems), raw))
            continue
        for name, value in values.items():
            parsed.columns[name].append(value)
        parsed.lines.append(number)
    return parsed


def tables_ddl(ddl: WarehouseDDL | None = None) -> list[str]:
    """The statements that create `raw`, every feed's table, the quarantine and the manifest."""
    ddl = ddl or WarehouseDDL.from_settings()
    return [
        ddl.create_database(RAW_DATABASE),
        *(feed.create_sql(ddl) for feed in FEEDS),
        f"CREATE TABLE IF NOT EXISTS {QUARANTINE}{ddl.on_cluster} (feed String, file String, file_sha256 String, "
        "line UInt32, reason String, raw String, quarantined_at DateTime64(3, 'UTC')) "
        f"ENGINE = {ddl.engine('ReplacingMergeTree(quarantined_at)')} ORDER BY (feed, file_sha256, line)"
        f"{ddl.table_settings} "
        "COMMENT 'Feed rows that failed validation: file, line and reason. Never dropped silently.'",
        f"CREATE TABLE IF NOT EXISTS {MANIFEST}{ddl.on_cluster} (feed String, file String, sha256 String, "
        "rows UInt64, quarantined UInt64, loaded_at DateTime64(3, 'UTC')) "
        f"ENGINE = {ddl.engine('ReplacingMergeTree(loaded_at)')} ORDER BY (feed, sha256){ddl.table_settings} "
        "COMMENT 'Every feed file loaded, by content hash: a file is loaded once.'",
    ]


def ensure_tables(client: Client, ddl: WarehouseDDL | None = None) -> None:
    for statement in tables_ddl(ddl):
        client.command(statement)


def _loaded_hashes(client: Client, feed: str) -> set[str]:
    rows = client.query(f"SELECT sha256 FROM {MANIFEST} WHERE feed = {{f:String}}", parameters={"f": feed})
    return {r[0] for r in rows.result_rows}


def load_file(client: Client, feed: Feed, name: str, content: bytes) -> FileLoad:
    started = time.perf_counter()
    digest = hashlib.sha256(content).hexdigest()
    result = FileLoad(feed.name, name, digest)
    try:
        parsed = parse(feed, content.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        parsed = _Parsed({f.name: [] for f in feed.fields}, [(1, f"not UTF-8 text: {exc.reason}", "")])
    now = dt.datetime.now(dt.UTC)
    if parsed.lines:
        arrays = {f.name: pa.array(parsed.columns[f.name], f.arrow_type) for f in feed.fields}
        count = len(parsed.lines)
        arrays["_file"] = pa.array([name] * count, pa.string())
        arrays["_file_sha256"] = pa.array([digest] * count, pa.string())
        arrays["_line"] = pa.array(parsed.lines, pa.uint32())
        arrays["_loaded_at"] = pa.array([now] * count, pa.timestamp("ms", tz="UTC"))
        client.insert_arrow(feed.table, pa.table(arrays))
    if parsed.bad:
        client.insert(
            QUARANTINE,
            [[feed.name, name, digest, line, reason, raw[:10_000], now] for line, reason, raw in parsed.bad],
            column_names=["feed", "file", "file_sha256", "line", "reason", "raw", "quarantined_at"],
        )
    client.insert(
        MANIFEST,
        [[feed.name, name, digest, len(parsed.lines), len(parsed.bad), now]],
        column_names=["feed", "file", "sha256", "rows", "quarantined", "loaded_at"],
    )
    result.rows, result.quarantined = len(parsed.lines), len(parsed.bad)
    result.seconds = time.perf_counter() - started
    return result


def load_feeds(
    client: Client, landing_url: str, feeds: tuple[Feed, ...] = FEEDS, ddl: WarehouseDDL | None = None
) -> list[FileLoad]:
    """Load every new file of every feed from the landing location (a folder or any fsspec URL)."""
    ensure_tables(client, ddl)
    fs, root = fsspec.core.url_to_fs(landing_url)
    results = []
    for feed in feeds:
        done = _loaded_hashes(client, feed.name)
        pattern = f"{root.rstrip('/')}/{feed.name}/*.{feed.fmt}"
        for path in sorted(fs.glob(pattern)):
            with fs.open(path, "rb") as handle:
                content = handle.read()
            name = f"{feed.name}/{path.rsplit('/', 1)[-1]}"
            digest = hashlib.sha256(content).hexdigest()
            if digest in done:
                results.append(FileLoad(feed.name, name, digest, skipped=True))
                continue
            results.append(load_file(client, feed, name, content))
            done.add(digest)
    return results
