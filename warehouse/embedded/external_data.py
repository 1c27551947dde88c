"""`multipart/form-data` requests: query and parameters as form fields, files as external tables.

ClickHouse accepts the query and `param_<name>` values as form fields (clickhouse-connect sends them so
when they are too long for a URL), and files as "external data": temporary tables that exist for one
query, described by `<name>_structure` (or `<name>_types`) and `<name>_format` parameters.
"""

from __future__ import annotations

import email.policy
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage

from warehouse.errors import ClickHouseError


@dataclass
class ExternalTable:
    name: str
    structure: str
    format: str
    data: bytes


def is_multipart(content_type: str | None) -> bool:
    return (content_type or "").lower().startswith("multipart/form-data")


def read_form(content_type: str, body: bytes, params: dict[str, str]) -> list[ExternalTable]:
    """Move form fields into `params`; return the files as external tables."""
    message = message_from_bytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body, policy=email.policy.HTTP
    )
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        raise ClickHouseError("BAD_ARGUMENTS", "Malformed multipart/form-data body")
    files: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise ClickHouseError("BAD_ARGUMENTS", "A multipart/form-data part has no name")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if part.get_filename() is not None:
            files[name] = data
        else:
            params[name] = data.decode()
    tables = []
    for name, data in files.items():
        structure = params.pop(f"{name}_structure", None)
        types = params.pop(f"{name}_types", None)
        if structure is None and types is not None:
            structure = ", ".join(f"_{i} {t.strip()}" for i, t in enumerate(types.split(","), start=1))
        if not structure:
            raise ClickHouseError(
                "BAD_ARGUMENTS", f"Neither structure nor types have not been provided for external table {name}"
            )
        tables.append(ExternalTable(name, structure, params.pop(f"{name}_format", "TabSeparated"), data))
    return tables
