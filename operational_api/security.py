"""Secrets handling: PIN hashes, API keys, and refusing card numbers. Nothing here logs a secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

# scrypt parameters. A 4-8 digit PIN has too few values for any hash to resist offline guessing on its
# own; what protects it is the server-side pepper (not stored in the database) and the 5-try lockout.
# The cost is kept low so that verifying a PIN does not dominate a vend authorisation's latency.
SCRYPT_N = 2**10
SCRYPT_R = 8
SCRYPT_P = 1
PIN_PATTERN = r"^[0-9]{4,8}$"
MAX_BAD_PINS = 5

API_KEY_PREFIX = "pk"


def _scrypt(pin: str, salt: bytes, pepper: bytes, n: int, r: int, p: int) -> bytes:
    peppered = hmac.new(pepper, pin.encode(), hashlib.sha256).digest()
    return hashlib.scrypt(peppered, salt=salt, n=n, r=r, p=p, dklen=32)


def hash_pin(pin: str, pepper: bytes) -> str:
    """`scrypt$n$r$p$salt$hash` (base64): salted per customer, peppered with the server key."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(pin, salt, pepper, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_pin(pin: str, stored: str, pepper: bytes) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        candidate = _scrypt(pin, base64.b64decode(salt), pepper, int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def new_api_key() -> tuple[str, str, str]:
    """A fresh key: (the key, shown once; its display prefix; hex SHA-256 stored instead of it)."""
    ident = secrets.token_hex(4)
    token = f"{API_KEY_PREFIX}_{ident}_{secrets.token_urlsafe(32)}"
    return token, f"{API_KEY_PREFIX}_{ident}", api_key_sha256(token)


def api_key_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_DIGIT_RUN = re.compile(r"\d(?:[ \-.]?\d){11,18}")


def looks_like_pan(value: str) -> bool:
    """True when a string holds anything shaped like a payment card number (12-19 digits, any
    separators). Processor tokens are opaque; a run of card-length digits is refused outright,
    Luhn-valid or not, so a card number can never be stored by mistake."""
    return _DIGIT_RUN.search(value) is not None
