"""Unsubscribe links, links to a recipient's own subscriptions page, and links to an alert.

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


# What a token is for, inside its MAC.
UNSUBSCRIBE, RECIPIENT, ALERT = b"pulse-unsubscribe", b"pulse-recipient", b"pulse-alert"


def _mac(key: bytes, purpose: bytes, payload: bytes) -> bytes:
    return hmac.new(key, purpose + b"\x00" + payload, hashlib.sha256).digest()[:MAC_BYTES]


def _sign(key: bytes, purpose: bytes, number: int, email: str) -> str:
    payload = f"{number}:{email.lower()}".encode()
    return f"{_b64(payload)}.{_b64(_mac(key, purpose, payload))}"


def _verify(key: bytes, purpose: bytes, token: str, what: str, *, email: bool = True) -> tuple[int, str]:
    """(number, email) of a token signed with `key` for `purpose`, else BadToken naming `what` it is not. With
    `email=False` the second part is any name (an alert link sent to a webhook names the webhook, not an address)."""
    if len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise BadToken(f"not {what}")
    encoded, mac = token.split(".")
    try:
        payload, given = _unb64(encoded), _unb64(mac)
    except (binascii.Error, ValueError):
        raise BadToken(f"not {what}") from None
    if not hmac.compare_digest(given, _mac(key, purpose, payload)):
        raise BadToken(f"this is not a valid {what.removeprefix('an ').removeprefix('a ')} (altered, truncated or "
                       "from another server)")  # fmt: skip
    number, _, name = payload.decode("utf-8", "replace").partition(":")
    if not number.isascii() or not number.isdigit() or (email and "@" not in name) or not name:
        raise BadToken(f"not {what}")  # signed with our key, yet not one we issue
    return int(number), name


def make_token(key: bytes, subscription_id: int, email: str) -> str:
    return _sign(key, UNSUBSCRIBE, subscription_id, email)


def read_token(key: bytes, token: str) -> tuple[int, str]:
    """(subscription_id, email) of a genuine token, else BadToken."""
    return _verify(key, UNSUBSCRIBE, token, "an unsubscribe link")


def public_base_url(settings: Settings) -> str:
    return (settings.reports_public_url or f"http://{settings.api_host}:{settings.api_port}").rstrip("/")


def unsubscribe_url(settings: Settings, key: bytes, subscription_id: int, email: str) -> str:
    return f"{public_base_url(settings)}/v1/unsubscribe/{make_token(key, subscription_id, email)}"


# -- a recipient's own page: a link that names an address and when it stops working ---------------------------
def make_recipient_token(key: bytes, email: str, expires: dt.datetime) -> str:
    return _sign(key, RECIPIENT, int(expires.timestamp()), email)


def read_recipient_token(key: bytes, token: str, now: dt.datetime) -> str:
    """The address of a genuine, unexpired link to a recipient's page, else BadToken saying which."""
    expires, email = _verify(key, RECIPIENT, token, "a link to a subscriptions page")
    if expires < now.timestamp():
        raise BadToken("this link has expired: use the link in your latest statement email")
    return email


def manage_url(settings: Settings, key: bytes, email: str, now: dt.datetime) -> str:
    """The link every statement email carries to its recipient's own subscriptions page."""
    expires = now + dt.timedelta(days=settings.reports_manage_link_days)
    return f"{public_base_url(settings)}/portal/me/{make_recipient_token(key, email, expires)}"


# -- an alert's page: a link in every alert notice, to acknowledge or resolve it -----------------------------------
# It names the alert and who it was sent to (an address, or `webhook`), who is recorded as having acted on it. It
# does not expire: acting on an alert long resolved changes nothing.
def make_alert_token(key: bytes, alert_id: int, recipient: str) -> str:
    return _sign(key, ALERT, alert_id, recipient)


def read_alert_token(key: bytes, token: str) -> tuple[int, str]:
    """(alert id, recipient) of a genuine alert link, else BadToken."""
    return _verify(key, ALERT, token, "an alert link", email=False)


def alert_url(settings: Settings, key: bytes, alert_id: int, recipient: str) -> str:
    return f"{public_base_url(settings)}/portal/alerts/{make_alert_token(key, alert_id, recipient)}"
