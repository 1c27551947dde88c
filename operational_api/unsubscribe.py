"""Unsubscribe links, and links to a recipient's own subscriptions page.

Unsubscribe: a token naming (subscription, email), signed with HMAC-SHA256 under a server key.

The token is `<base64url(subscription_id:email)>.<base64url(mac)>`: the API checks the MAC and records the
unsubscribe without any lookup table of issued links, and nobody can forge a link for another address.
Links do not expire (an unsubscribe link must keep working). The key is PULSE_REPORTS_SECRET_KEY, else
generated once per PULSE_HOME; changing it invalidates every link already sent.

A recipient's page link (`manage_url`) names an address and an expiry under the same key (another purpose in the
MAC, so neither token passes for the other); it expires after PULSE_REPORTS_MANAGE_LINK_DAYS, because unlike an
unsubscribe it shows what was sent to the address.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac

from pulse.core.secrets import persistent_secret
from pulse.core.settings import Settings

MAC_BYTES = 16  # 128 bits: forging one needs 2^128 guesses
MAX_TOKEN_CHARS = 600


class BadToken(ValueError):
    """Not a link this server issued (mangled, truncated or signed with another key)."""


def signing_key(settings: Settings) -> bytes:
    if settings.reports_secret_key:
        return settings.reports_secret_key.get_secret_value().encode()
    return persistent_secret(settings.secrets_dir / "reports_secret_key", nbytes=32).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, b"pulse-unsubscribe\x00" + payload, hashlib.sha256).digest()[:MAC_BYTES]


def make_token(key: bytes, subscription_id: int, email: str) -> str:
    payload = f"{subscription_id}:{email.lower()}".encode()
    return f"{_b64(payload)}.{_b64(_mac(key, payload))}"


def read_token(key: bytes, token: str) -> tuple[int, str]:
    """(subscription_id, email) of a genuine token, else BadToken."""
    if len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise BadToken("not an unsubscribe link")
    encoded, mac = token.split(".")
    try:
        payload, given = _unb64(encoded), _unb64(mac)
    except (binascii.Error, ValueError):
        raise BadToken("not an unsubscribe link") from None
    if not hmac.compare_digest(given, _mac(key, payload)):
        raise BadToken("this unsubscribe link is not valid (altered, truncated or from another server)")
    subscription, _, email = payload.decode("utf-8", "replace").partition(":")
    if not subscription.isascii() or not subscription.isdigit() or "@" not in email:
        raise BadToken("not an unsubscribe link")  # signed with our key, yet not one we issue
    return int(subscription), email


def public_base_url(settings: Settings) -> str:
    return (settings.reports_public_url or f"http://{settings.api_host}:{settings.api_port}").rstrip("/")


def unsubscribe_url(settings: Settings, key: bytes, subscription_id: int, email: str) -> str:
    return f"{public_base_url(settings)}/v1/unsubscribe/{make_token(key, subscription_id, email)}"


# -- a recipient's own page: a link that names an address and when it stops working ---------------------------
def _recipient_mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, b"pulse-recipient\x00" + payload, hashlib.sha256).digest()[:MAC_BYTES]


def make_recipient_token(key: bytes, email: str, expires: dt.datetime) -> str:
    payload = f"{int(expires.timestamp())}:{email.lower()}".encode()
    return f"{_b64(payload)}.{_b64(_recipient_mac(key, payload))}"


def read_recipient_token(key: bytes, token: str, now: dt.datetime) -> str:
    """The address of a genuine, unexpired link to a recipient's page, else BadToken saying which."""
    if len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise BadToken("not a link to a subscriptions page")
    encoded, mac = token.split(".")
    try:
        payload, given = _unb64(encoded), _unb64(mac)
    except (binascii.Error, ValueError):
        raise BadToken("not a link to a subscriptions page") from None
    if not hmac.compare_digest(given, _recipient_mac(key, payload)):
        raise BadToken("this link is not valid (altered, truncated or from another server)")
    expires, _, email = payload.decode("utf-8", "replace").partition(":")
    if not expires.isascii() or not expires.isdigit() or "@" not in email:
        raise BadToken("not a link to a subscriptions page")
    if int(expires) < now.timestamp():
        raise BadToken("this link has expired: use the link in your latest statement email")
    return email


def manage_url(settings: Settings, key: bytes, email: str, now: dt.datetime) -> str:
    """The link every statement email carries to its recipient's own subscriptions page."""
    expires = now + dt.timedelta(days=settings.reports_manage_link_days)
    return f"{public_base_url(settings)}/portal/me/{make_recipient_token(key, email, expires)}"
