"""Recipient queries: run read-only on the warehouse, one row per recipient.

The subscription API checks a query here before it stores it (`validate_query`, without running it); delivery
runs it here when the subscription fires (`run_query`).

A query returns `email`, `locale` (en or ru), optionally `name`, and the report's parameters (e.g.
`customer_id`; the period column is optional, see pulse.core.report_kinds). It runs as the warehouse's read-only
user (`pulse_reader`), so whatever it says it cannot write; on top of that it must be one SELECT (or
WITH ... SELECT) statement, which is checked before it is sent, with a clear reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from pulse.core.report_kinds import KindSpec, spec_for
from pulse.core.settings import READER_USER, Settings
from warehouse.identities import QUERY_SECONDS, WarehouseUnavailable, reader_client
from warehouse.sql_split import SqlSplitError, as_scanned, from_scanned, split_statement

MAX_RECIPIENTS = 1_000_000
_CLICKHOUSE_ERROR = re.compile(
    r"DB::Exception: (?P<message>.*?)(?: \((?P<name>[A-Z_]+)\))?(?: \(version [^)]*\))?$", re.S
)


class RecipientQueryError(ValueError):
    """The query is not a usable recipient query; the message says why (for a 422 or the CLI)."""


@dataclass(frozen=True)
class RecipientRow:
    """One row of a recipient query, as returned (values as text; None when NULL)."""

    email: str | None
    locale: str | None
    name: str | None
    params: dict[str, str]  # the report's parameters present in the row (period only when returned)


def warehouse_message(err: Exception) -> str:
    """ClickHouse's own words from a client exception: `Unknown table ... (UNKNOWN_TABLE)`."""
    text = str(err)
    match = _CLICKHOUSE_ERROR.search(text)
    if not match:
        return text.strip().splitlines()[0] if text.strip() else type(err).__name__
    name = f" ({match['name']})" if match["name"] else ""
    return f"{match['message'].strip()}{name}"


def check_statement(query: str) -> str:
    """The statement without a trailing `;` if it is one SELECT or WITH ... SELECT, else RecipientQueryError."""
    try:
        # The tokenizer reads bytes (its offsets are byte offsets), as the warehouse server gives them.
        statement = split_statement(as_scanned(query), complete=True)
    except SqlSplitError as err:
        raise RecipientQueryError(f"is not one SQL statement: {err}") from None
    if statement.kind not in ("SELECT", "WITH"):
        found = statement.kind or query.strip()[:20]
        raise RecipientQueryError(
            f"must be one SELECT (or WITH ... SELECT) statement, not {found}: it runs read-only as {READER_USER}"
        )
    if statement.format is not None:
        raise RecipientQueryError(f"must not name an output format (FORMAT {statement.format})")
    return from_scanned(statement.sql)


def check_columns(spec: KindSpec, columns: Sequence[str]) -> None:
    missing = [c for c in spec.required_columns if c not in columns]
    unknown = [c for c in columns if c not in spec.allowed_columns]
    duplicated = sorted({c for c in columns if list(columns).count(c) > 1})
    problems = []
    if missing:
        problems.append(f"lacks the column(s) {', '.join(missing)}")
    if unknown:
        problems.append(f"returns unknown column(s) {', '.join(unknown)}")
    if duplicated:
        problems.append(f"returns the column(s) {', '.join(duplicated)} twice")
    if problems:
        raise RecipientQueryError(
            f"{'; '.join(problems)}: a {spec.kind} recipient query returns {', '.join(spec.required_columns)}, "
            f"optionally {', '.join(c for c in spec.allowed_columns if c not in spec.required_columns)}"
        )


def _refusal(err: DatabaseError) -> RecipientQueryError:
    message = warehouse_message(err)
    if "READONLY" in message or "readonly mode" in message:
        return RecipientQueryError(f"tried to write: recipient queries run as the read-only user {READER_USER} "
                                   f"and may only read ({message})")  # fmt: skip
    return RecipientQueryError(f"was refused by the warehouse: {message}")


def validate_query(settings: Settings, kind: str, query: str, client: Client | None = None) -> list[str]:
    """Check a recipient query without running it (DESCRIBE): statement, columns. Returns its columns."""
    spec = spec_for(kind)
    sql = check_statement(query)
    client = client or reader_client(settings)
    try:
        described = client.query(f"DESCRIBE TABLE (\n{sql}\n)").result_rows
    except OperationalError as err:
        raise WarehouseUnavailable(f"the warehouse did not answer: {err}") from None
    except DatabaseError as err:
        raise _refusal(err) from None
    columns = [str(row[0]) for row in described]
    check_columns(spec, columns)
    return columns


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def run_query(client: Client, kind: str, query: str) -> list[RecipientRow]:
    """Run the recipient query as it is stored (as the read-only user) and return its rows."""
    spec = spec_for(kind)
    sql = check_statement(query)
    try:
        result = client.query(
            sql,
            settings={
                "max_result_rows": MAX_RECIPIENTS,
                "result_overflow_mode": "throw",
                "max_execution_time": QUERY_SECONDS,
            },
        )
    except OperationalError as err:
        raise WarehouseUnavailable(f"the warehouse did not answer: {err}") from None
    except DatabaseError as err:
        raise _refusal(err) from None
    if not result.result_rows:
        # Nobody to send to (a business without counterparties): ClickHouse's Native output of an empty result has
        # no block, so no column names to check; the columns were checked (DESCRIBE) when the query was stored.
        return []
    columns = list(result.column_names)
    check_columns(spec, columns)
    rows = []
    for values in result.result_rows:
        record = dict(zip(columns, values, strict=True))
        params = {p: text for p in spec.params if p in record and (text := _text(record[p])) is not None}
        rows.append(
            RecipientRow(
                email=_text(record["email"]),
                locale=_text(record["locale"]),
                name=_text(record.get("name")),
                params=params,
            )
        )
    return rows
