"""API keys and idempotency records (internal tables, not extracted to the warehouse)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from operational_api.models.base import Base, BigIntPK, UTCDateTime, table_comment

# A hospital key reads its own hospital's metrics only (as that hospital's warehouse identity).
SCOPES = ("machine", "portal", "operator", "integration", "hospital", "admin")


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = table_comment("API keys; only the SHA-256 of the key is stored.", extract=False)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    name: Mapped[str] = mapped_column(String(200), comment="Who or what uses the key.")
    scope: Mapped[str] = mapped_column(String(32), comment="machine, portal, operator, integration, hospital, admin.")
    hospital_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("hospitals.id"), comment="For a hospital key: the one hospital it sees."
    )
    prefix: Mapped[str] = mapped_column(String(16), comment="First characters of the key, to recognise it.")
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True, comment="hex SHA-256 of the key.")
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), comment="When revoked.")


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("api_key_id", "key"),
        {
            "comment": "Responses of requests sent with an Idempotency-Key, replayed on retry.",
            "info": {"extract": False},
        },
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, comment="Surrogate key.")
    api_key_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("api_keys.id"), comment="Caller.")
    key: Mapped[str] = mapped_column(String(255), comment="The Idempotency-Key header value.")
    endpoint: Mapped[str] = mapped_column(String(255), comment="Method and path the key was used on.")
    request_sha256: Mapped[str] = mapped_column(String(64), comment="hex SHA-256 of the request body.")
    status_code: Mapped[int] = mapped_column(Integer, comment="HTTP status of the stored response.")
    response_body: Mapped[bytes] = mapped_column(LargeBinary, comment="Stored response body (JSON).")
