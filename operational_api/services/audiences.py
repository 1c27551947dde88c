"""Audience presets: who receives a subscription's statements, chosen from a list instead of written as SQL.

A preset writes the recipient query (pulse.core.report_kinds says which columns each report needs) from a few
choices; the subscription keeps both, so a run only ever reads `recipient_query` and the portal can reopen the
form with the preset chosen. `custom` is a query written by hand. Every value a preset puts into SQL is checked
(addresses, locales, ids) and quoted here, so a choice cannot become SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError

from operational_api.services.common import Invalid, Loc, checked_email
from pulse.core.report_kinds import REPORT_KINDS, spec_for
from pulse.core.vocabulary import LOCALES

MAX_STATIC_RECIPIENTS = 500
MAX_IDS = 1000


def sql_string(value: str) -> str:
    """A ClickHouse string literal (backslash escapes, as ClickHouse reads them)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ids(values: Any, field: str) -> list[int]:
    if values in (None, "", []):
        return []
    items = values.replace(",", " ").split() if isinstance(values, str) else list(values)
    try:
        ids = sorted({int(item) for item in items})
    except (TypeError, ValueError):
        raise Invalid("bad audience", [(_loc(field), "must be whole numbers (ids), separated by commas")]) from None
    if any(i < 1 for i in ids) or len(ids) > MAX_IDS:
        raise Invalid("bad audience", [(_loc(field), f"ids are positive, at most {MAX_IDS} of them")])
    return ids


def _loc(field: str) -> Loc:
    return ("body", "audience", field)


def _email(value: str, field: str) -> str:
    try:
        return checked_email(value)
    except EmailNotValidError as err:
        raise Invalid("bad audience", [(_loc(field), f"{value!r} is not an email address: {err}")]) from None


def _in_ids(column: str, ids: list[int]) -> str:
    return f"\n  AND {column} IN ({', '.join(map(str, ids))})" if ids else ""


def _hospital_contacts(kind: str, choices: Mapping[str, Any]) -> str:
    ids = _ids(choices.get("hospital_ids"), "hospital_ids")
    return f"""SELECT
    contacts.hospital_id AS hospital_id,
    contacts.email AS email,
    contacts.locale AS locale,
    contacts.name AS name
FROM marts.dim_report_contacts AS contacts
WHERE contacts.hospital_id IN (SELECT hospital_id FROM marts.dim_machines WHERE status != 'retired'){
        _in_ids("contacts.hospital_id", ids)
    }
ORDER BY contacts.hospital_id, contacts.email"""


def _consenting_customers(kind: str, choices: Mapping[str, Any]) -> str:
    return """SELECT
    customer_id,
    email,
    locale,
    full_name AS name
FROM marts.dim_customers
WHERE statement_email_consent AND email != '' AND status != 'closed'
ORDER BY customer_id"""


def _counterparties(kind: str, choices: Mapping[str, Any]) -> str:
    team = str(choices.get("email") or "").strip()
    if not team:
        raise Invalid("bad audience", [(_loc("email"), "the address that receives the statements is required")])
    email = _email(team, "email")
    ids = _ids(choices.get("counterparty_ids"), "counterparty_ids")
    return f"""SELECT
    counterparty_id,
    {sql_string(email)} AS email,
    if(country = 'RU', 'ru', 'en') AS locale
FROM marts.dim_counterparties
WHERE 1{_in_ids("counterparty_id", ids)}
ORDER BY counterparty_id"""


def _sales_reps(kind: str, choices: Mapping[str, Any]) -> str:
    ids = _ids(choices.get("sales_rep_ids"), "sales_rep_ids")
    return f"""SELECT
    sales_rep_id,
    email,
    locale,
    name
FROM marts.dim_sales_reps
WHERE status = 'active' AND hospitals > 0{_in_ids("sales_rep_id", ids)}
ORDER BY sales_rep_id"""


def parse_static_list(kind: str, text: str) -> list[tuple[str, str, str, int | None]]:
    """`email, locale, name[, id]` per line (the id: the report's recipient, e.g. a hospital id)."""
    spec = spec_for(kind)
    needs_id = bool(spec.id_params)
    shape = "email, locale, name" + (f", {spec.id_params[0]}" if needs_id else "")
    rows: list[tuple[str, str, str, int | None]] = []
    seen: set[tuple[str, int | None]] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [part.strip() for part in line.split(",")]
        if len(parts) != (4 if needs_id else 3):
            raise Invalid("bad audience", [(_loc("recipients"), f"line {number}: expected {shape}")])
        email = _email(parts[0], "recipients")
        locale, name = parts[1], parts[2]
        if locale not in LOCALES:
            raise Invalid(
                "bad audience", [(_loc("recipients"), f"line {number}: locale is one of {', '.join(LOCALES)}")]
            )
        if len(name) > 200:
            raise Invalid("bad audience", [(_loc("recipients"), f"line {number}: the name is over 200 characters")])
        recipient = _ids(parts[3], "recipients")[0] if needs_id else None
        if (email, recipient) in seen:
            raise Invalid("bad audience", [(_loc("recipients"), f"line {number}: {email} is listed twice")])
        seen.add((email, recipient))
        rows.append((email, locale, name, recipient))
    if not rows:
        raise Invalid("bad audience", [(_loc("recipients"), f"list at least one recipient: {shape} per line")])
    if len(rows) > MAX_STATIC_RECIPIENTS:
        raise Invalid("bad audience", [(_loc("recipients"), f"at most {MAX_STATIC_RECIPIENTS} lines")])
    return rows


def _static_list(kind: str, choices: Mapping[str, Any]) -> str:
    spec = spec_for(kind)
    rows = parse_static_list(kind, str(choices.get("recipients") or ""))
    selects = []
    for email, locale, name, recipient in rows:
        columns = [f"{sql_string(email)} AS email", f"{sql_string(locale)} AS locale", f"{sql_string(name)} AS name"]
        if recipient is not None:
            columns.append(f"toInt64({recipient}) AS {spec.id_params[0]}")
        selects.append("SELECT " + ", ".join(columns))
    return "\nUNION ALL\n".join(selects)


@dataclass(frozen=True)
class Preset:
    name: str
    kinds: tuple[str, ...]  # the reports it can address
    choices: tuple[str, ...]  # what it takes besides the report kind
    build: Callable[[str, Mapping[str, Any]], str]


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset("hospital_contacts", ("hospital_statement",), ("hospital_ids",), _hospital_contacts),
        Preset("consenting_customers", ("customer_statement",), (), _consenting_customers),
        Preset("counterparties", ("counterparty_statement",), ("email", "counterparty_ids"), _counterparties),
        Preset("sales_reps", ("sales_rep_statement",), ("sales_rep_ids",), _sales_reps),
        Preset("static_list", REPORT_KINDS, ("recipients",), _static_list),
    )
}
CUSTOM = "custom"  # a recipient query written by hand
AUDIENCES = (*PRESETS, CUSTOM)


def presets_for(kind: str) -> list[Preset]:
    return [preset for preset in PRESETS.values() if kind in preset.kinds]


def audience_query(kind: str, audience: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """(the stored audience: its preset and choices, the recipient query it writes), else Invalid naming the field."""
    name = audience.get("preset")
    preset = PRESETS.get(str(name))
    if preset is None:
        raise Invalid("bad audience", [(_loc("preset"), f"one of {', '.join(PRESETS)} (or write a recipient query)")])
    if kind not in preset.kinds:
        fits = ", ".join(p.name for p in presets_for(kind))
        raise Invalid("bad audience", [(_loc("preset"), f"{preset.name} cannot address a {kind}; for it: {fits}")])
    unknown = sorted(set(audience) - {"preset", *preset.choices})
    if unknown:
        raise Invalid("bad audience", [(_loc(unknown[0]), f"{preset.name} takes only: {', '.join(preset.choices)}")])
    query = preset.build(kind, audience)  # checks every choice first
    stored: dict[str, Any] = {"preset": preset.name}
    for choice in preset.choices:  # in one shape, whether the portal's text or the API's JSON gave them
        value = audience.get(choice)
        if value in (None, "", []):
            continue
        if choice.endswith("_ids"):
            stored[choice] = _ids(value, choice)
        else:
            stored[choice] = str(value).strip().lower() if choice == "email" else str(value)
    return stored, query
