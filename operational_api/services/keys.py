"""API keys: created by `pulse api create-key`, checked on every request. Only SHA-256 is stored."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from operational_api.models import SCOPES, ApiKey, Hospital, utcnow
from operational_api.security import api_key_sha256, new_api_key
from operational_api.services.common import Invalid, NotFound

log = logging.getLogger("pulse.api.keys")


@dataclass(frozen=True)
class Caller:
    key_id: int
    name: str
    scope: str
    hospital_id: int | None = None  # a hospital key's one hospital


def create_api_key(session: Session, *, name: str, scope: str, hospital_id: int | None = None) -> str:
    """Store a new key's hash and return the key itself: the only time it exists in clear. A hospital key names
    its hospital; no other key may."""
    if scope not in SCOPES:
        raise Invalid(f"unknown scope {scope!r}", [(("scope",), f"must be one of {', '.join(SCOPES)}")])
    if not name.strip() or len(name) > 200:
        raise Invalid("bad key name", [(("name",), "must be 1-200 characters")])
    if (scope == "hospital") != (hospital_id is not None):
        raise Invalid("bad hospital", [(("hospital_id",), "a hospital key needs its hospital; other keys take none")])
    if hospital_id is not None:
        hospital = session.get(Hospital, hospital_id)
        if hospital is None or hospital.deleted_at is not None:
            raise NotFound(f"no hospital with id {hospital_id}")
    token, prefix, digest = new_api_key()
    session.add(ApiKey(name=name, scope=scope, hospital_id=hospital_id, prefix=prefix, key_sha256=digest))
    session.flush()
    log.info("created API key %s (%s) for %r", prefix, scope, name)
    return token


def authenticate(session: Session, token: str) -> Caller | None:
    row = session.execute(
        select(ApiKey.id, ApiKey.name, ApiKey.scope, ApiKey.hospital_id).where(
            ApiKey.key_sha256 == api_key_sha256(token),
            ApiKey.revoked_at.is_(None),
            ApiKey.deleted_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    return Caller(key_id=row.id, name=row.name, scope=row.scope, hospital_id=row.hospital_id)


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.execute(select(ApiKey).order_by(ApiKey.id)).scalars())


def revoke_api_key(session: Session, prefix: str) -> ApiKey:
    """Revoke the key shown as `prefix` (running servers forget it within a few seconds)."""
    key = session.execute(select(ApiKey).where(ApiKey.prefix == prefix)).scalar_one_or_none()
    if key is None:
        raise NotFound(f"no API key {prefix!r}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
        log.info("revoked API key %s (%s) of %r", key.prefix, key.scope, key.name)
    return key
