"""Staff sign-in for the portal: scrypt password hashes, server-side sessions, CSRF tokens and refusing guessers.

- Passwords: scrypt (n=2^15, r=8, p=1; RFC 7914's interactive parameters), a random salt each; only the hash is
  stored. Checking an unknown address costs the same as a known one, so timing does not tell which exist.
- Sessions: a random cookie whose SHA-256 is stored; a session ends after PULSE_PORTAL_SESSION_IDLE_MINUTES
  without a request or PULSE_PORTAL_SESSION_HOURS after sign-in, and at sign-out (the row is tombstoned).
- CSRF: every form carries HMAC(server key, session cookie); the sign-in form, before any session, a random
  value that must equal its cookie (double submit). Cookies are SameSite=Strict and HttpOnly besides.
- Guessing: PULSE_PORTAL_SIGN_IN_ATTEMPTS failures for an account from one client address, four times as many
  from one address over all accounts (spraying), or ten times as many at one account from anywhere (a botnet),
  within PULSE_PORTAL_LOCKOUT_MINUTES refuse sign-in there for as long; whether the account exists or not. Locking
  by account alone would let anybody lock the administrator out with a handful of requests.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from email_validator import EmailNotValidError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from operational_api.db import Store
from operational_api.models import PORTAL_ROLES, PortalSession, PortalUser, SalesRep, SignInThrottle, utcnow
from operational_api.services.common import Conflict, Invalid, NotFound, checked_email, tombstone
from operational_api.unsubscribe import signing_key
from pulse.core.settings import Settings
from pulse.core.vocabulary import LOCALES

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # scrypt of a megabyte-long "password" would be a cheap way to burn CPU
SESSION_COOKIE = "pulse_session"
SIGN_IN_COOKIE = "pulse_sign_in"


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=64 * 2**20)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        given = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                               maxmem=64 * 2**20)  # fmt: skip
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(given, base64.b64decode(digest))


# A hash of nothing anybody knows: checked when the address is unknown, so both answers take as long.
_DECOY = hash_password(secrets.token_urlsafe(16))


def portal_key(settings: Settings) -> bytes:
    """The key behind CSRF tokens: derived from the reports key (PULSE_REPORTS_SECRET_KEY), which every replica of
    the API shares, so a form served by one is accepted by another."""
    return hmac.new(signing_key(settings), b"pulse-portal-csrf", hashlib.sha256).digest()


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(key: bytes, session_token: str) -> str:
    return hmac.new(key, b"pulse-csrf\x00" + session_token.encode(), hashlib.sha256).hexdigest()


def check_csrf(key: bytes, session_token: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(csrf_token(key, session_token).encode(), given.encode())


# -- users -------------------------------------------------------------------------------------------------
def _email(value: str) -> str:
    try:
        return checked_email(value.strip())
    except EmailNotValidError as err:
        raise Invalid("bad email", [(("body", "email"), str(err))]) from None


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD or len(password.encode()) > MAX_PASSWORD:
        raise Invalid("bad password", [(("body", "password"), f"{MIN_PASSWORD} characters to {MAX_PASSWORD} bytes")])


def create_user(
    store: Store,
    *,
    email: str,
    name: str,
    role: str,
    password: str,
    locale: str = "en",
    sales_rep_id: int | None = None,
) -> PortalUser:
    email = _email(email)
    if role not in PORTAL_ROLES:
        raise Invalid("bad role", [(("body", "role"), f"one of {', '.join(PORTAL_ROLES)}")])
    if locale not in LOCALES:
        raise Invalid("bad language", [(("body", "locale"), f"one of {', '.join(LOCALES)}")])
    if not name.strip() or len(name) > 200:
        raise Invalid("bad name", [(("body", "name"), "1 to 200 characters")])
    if (role == "sales_rep") != (sales_rep_id is not None):
        raise Invalid("bad sales rep", [(("body", "sales_rep_id"), "a sales_rep user names their record; others none")])
    check_new_password(password)
    with store.write() as session:
        if sales_rep_id is not None:
            rep = session.get(SalesRep, sales_rep_id)
            if rep is None or rep.deleted_at is not None:
                raise NotFound(f"no sales rep with id {sales_rep_id}")
        if session.scalars(select(PortalUser.id).where(PortalUser.email == email)).first() is not None:
            raise Conflict("a portal user has this address", [(("body", "email"), "already used")])
        user = PortalUser(email=email, name=name.strip(), role=role, locale=locale, sales_rep_id=sales_rep_id,
                          password_hash=hash_password(password))  # fmt: skip
        session.add(user)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict("a portal user has this address", [(("body", "email"), "already used")]) from None
        return user


def set_password(store: Store, email: str, password: str) -> None:
    check_new_password(password)
    with store.write() as session:
        user = session.scalars(select(PortalUser).where(PortalUser.email == email.lower())).first()
        if user is None or user.deleted_at is not None:
            raise NotFound(f"no portal user {email}")
        user.password_hash = hash_password(password)
        for row in session.scalars(select(PortalSession).where(PortalSession.user_id == user.id)):
            tombstone(row)  # a new password signs every session out


# -- guessing ----------------------------------------------------------------------------------------------
def _throttle_keys(email: str, address: str) -> dict[str, int]:
    """The counters a failure adds to, with how many failures each allows (in units of the setting)."""
    account, address = email.strip().lower()[:200], address[:64]
    return {f"pair:{address}|{account}": 1, f"address:{address}": 4, f"account:{account}": 10}


def locked_for(store: Store, email: str, address: str, now: dt.datetime) -> dt.timedelta | None:
    """How long sign-in stays refused for this account from this address, or None when it may be tried."""
    with store.read() as session:
        until = session.scalars(
            select(SignInThrottle.locked_until).where(SignInThrottle.key.in_(list(_throttle_keys(email, address))))
        ).all()
    latest = max((u for u in until if u is not None and u > now), default=None)
    return latest - now if latest else None


def _record_failure(store: Store, settings: Settings, email: str, address: str, now: dt.datetime) -> None:
    window = dt.timedelta(minutes=settings.portal_lockout_minutes)
    for key, allowed in _throttle_keys(email, address).items():
        for _ in range(2):  # a parallel failure may create the row first
            try:
                with store.write() as session:
                    row = session.scalars(select(SignInThrottle).where(SignInThrottle.key == key)).first()
                    if row is None:
                        row = SignInThrottle(key=key, failures=0, window_started_at=now)
                        session.add(row)
                    elif row.window_started_at < now - window:
                        row.failures, row.window_started_at = 0, now
                    row.failures += 1
                    if row.failures >= settings.portal_sign_in_attempts * allowed:
                        row.locked_until = now + window
                    session.flush()
                break
            except IntegrityError:
                continue


def _clear_failures(session: Session, email: str, address: str) -> None:
    """A successful sign-in forgives this account's typos from this address (not the address's other failures)."""
    pair = next(iter(_throttle_keys(email, address)))
    for row in session.scalars(select(SignInThrottle).where(SignInThrottle.key == pair)):
        row.failures, row.locked_until = 0, None


# -- sessions ----------------------------------------------------------------------------------------------
class SignInRefused(Exception):
    """Wrong credentials, or (`locked`: for how long) refused after too many failures."""

    def __init__(self, locked: dt.timedelta | None = None) -> None:
        super().__init__("locked" if locked else "wrong")
        self.locked = locked


def sign_in(store: Store, settings: Settings, email: str, password: str, address: str) -> str:
    """A new session cookie for these credentials, else SignInRefused (wrong, or locked after guessing)."""
    now = utcnow()
    locked = locked_for(store, email, address, now)
    if locked is not None:
        raise SignInRefused(locked)
    with store.read() as session:
        user = session.scalars(
            select(PortalUser).where(PortalUser.email == email.strip().lower(), PortalUser.deleted_at.is_(None))
        ).first()
        stored = user.password_hash if user else _DECOY
        user_id = user.id if user else None
    if len(password.encode()) > MAX_PASSWORD or not check_password(password, stored) or user_id is None:
        _record_failure(store, settings, email, address, now)
        raise SignInRefused()
    token = secrets.token_urlsafe(32)
    with store.write() as session:
        session.add(PortalSession(user_id=user_id, token_sha256=_sha256(token), last_seen_at=now,
                                  expires_at=now + dt.timedelta(hours=settings.portal_session_hours)))  # fmt: skip
        row = session.get(PortalUser, user_id)
        if row is not None:
            row.last_sign_in_at = now
        _clear_failures(session, email, address)
    return token


@dataclass(frozen=True)
class StaffUser:
    id: int
    email: str
    name: str
    role: str
    locale: str
    sales_rep_id: int | None

    @property
    def manages_reports(self) -> bool:
        return self.role in ("admin", "report_manager")


def current_user(store: Store, settings: Settings, token: str | None) -> StaffUser | None:
    """The user of a live session cookie (and note the request), else None."""
    if not token or len(token) > 100:
        return None
    now = utcnow()
    idle = dt.timedelta(minutes=settings.portal_session_idle_minutes)
    with store.read() as session:  # most requests only read: a write per page would queue behind every ingest
        found = session.execute(
            select(PortalSession, PortalUser)
            .join(PortalUser, PortalUser.id == PortalSession.user_id)
            .where(
                PortalSession.token_sha256 == _sha256(token),
                PortalSession.deleted_at.is_(None),
                PortalUser.deleted_at.is_(None),
            )
        ).first()
        if found is None:
            return None
        row, user = found
        ended = row.expires_at <= now or row.last_seen_at <= now - idle
        stale = now - row.last_seen_at > dt.timedelta(seconds=30)  # the idle clock needs no write per request
        session_id = row.id
        staff = StaffUser(user.id, user.email, user.name, user.role, user.locale, user.sales_rep_id)
    if ended or stale:
        with store.write() as session:
            live = session.get(PortalSession, session_id)
            if live is not None:
                if ended:
                    tombstone(live)
                else:
                    live.last_seen_at = now
    return None if ended else staff


def sign_out(store: Store, token: str | None) -> None:
    if not token:
        return
    with store.write() as session:
        for row in session.scalars(select(PortalSession).where(PortalSession.token_sha256 == _sha256(token))):
            tombstone(row)


def set_user_locale(store: Store, user_id: int, locale: str) -> None:
    if locale not in LOCALES:
        raise Invalid("bad language", [(("body", "locale"), f"one of {', '.join(LOCALES)}")])
    with store.write() as session:
        user = session.get(PortalUser, user_id)
        if user is not None:
            user.locale = locale
