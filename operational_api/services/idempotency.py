"""Idempotency-Key support: a request's response is stored in the same transaction as its writes, so a
retry with the same key and body gets the same response, and the same key with another body is refused."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from operational_api.models import IdempotencyRecord
from operational_api.services.common import Conflict


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: bytes


def request_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def replay(session: Session, *, key_id: int, key: str, endpoint: str, digest: str) -> StoredResponse | None:
    """The stored response for this key, or None when the key is new. Call inside the write transaction."""
    record = session.execute(
        select(IdempotencyRecord).where(IdempotencyRecord.api_key_id == key_id, IdempotencyRecord.key == key)
    ).scalar_one_or_none()
    if record is None:
        return None
    if record.endpoint != endpoint or record.request_sha256 != digest:
        raise Conflict(
            "this Idempotency-Key was already used with a different request",
            [(("header", "Idempotency-Key"), "reused with a different body or endpoint")],
        )
    return StoredResponse(record.status_code, record.response_body)


def remember(
    session: Session, *, key_id: int, key: str, endpoint: str, digest: str, status_code: int, body: bytes
) -> None:
    session.add(
        IdempotencyRecord(
            api_key_id=key_id,
            key=key,
            endpoint=endpoint,
            request_sha256=digest,
            status_code=status_code,
            response_body=body,
        )
    )
    session.flush()
