"""Sending through SMTP: one connection reused for many messages, and an honest outcome for each.

Every attempt ends in one of four outcomes, which decide what the ledger does next:

- SENT: the server answered 250 to the message's data.
- RETRY: nothing was delivered and it may work later: connection refused or lost before the data went
  out, a 4xx reply, a TLS or login failure.
- REJECTED: the server refused for good (5xx), e.g. an unknown mailbox: retrying would not help.
- IN_DOUBT: the connection broke after the data was handed over and before the server's reply: the
  message may or may not have been accepted. It is never retried automatically (never twice).

The protocol steps are taken one by one (MAIL, RCPT, DATA) rather than with `sendmail` so that the
point where a failure happened - before or after the message left - is known exactly.
"""

from __future__ import annotations

import contextlib
import enum
import re
import smtplib
import ssl
from dataclasses import dataclass

from pulse.core.settings import Settings

TIMEOUT_SECONDS = 60.0
_EOL = re.compile(rb"\r\n|\n|\r(?!\n)")
_LEADING_DOT = re.compile(rb"(?m)^\.")


class Outcome(enum.Enum):
    SENT = "sent"
    RETRY = "retry"
    REJECTED = "rejected"
    IN_DOUBT = "in_doubt"


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    detail: str


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return f"{code} {' '.join(text.split())}"


def _refused(step: str, code: int, message: bytes | str) -> SendResult:
    outcome = Outcome.REJECTED if 500 <= code < 600 else Outcome.RETRY
    return SendResult(outcome, f"{step} refused: {_reply(code, message)}")


def dot_stuffed(data: bytes) -> bytes:
    """The DATA payload: CRLF line ends, leading dots doubled, terminated by CRLF.CRLF (RFC 5321 4.5.2)."""
    body = _LEADING_DOT.sub(b"..", _EOL.sub(b"\r\n", data))
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body + b".\r\n"


class SmtpSender:
    """One SMTP connection (opened on first use, reopened when lost) sending many messages in turn."""

    def __init__(self, settings: Settings, timeout: float = TIMEOUT_SECONDS) -> None:
        self.settings = settings
        self.timeout = timeout
        self._conn: smtplib.SMTP | None = None
        self.down: str | None = None  # why the last connection attempt failed (callers stop early)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        conn: smtplib.SMTP
        if s.smtp_tls == "ssl":
            conn = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=self.timeout, context=context)
        else:
            conn = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=self.timeout)
        try:
            conn.ehlo()
            if s.smtp_tls == "starttls":
                conn.starttls(context=context)
                conn.ehlo()
            if s.smtp_user:
                password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                conn.login(s.smtp_user, password)
        except BaseException:
            conn.close()
            raise
        return conn

    def _open(self) -> smtplib.SMTP | SendResult:
        if self._conn is not None:
            return self._conn
        try:
            self._conn = self._connect()
        except smtplib.SMTPAuthenticationError as err:
            self.down = f"SMTP login refused: {_reply(err.smtp_code, err.smtp_error)}"
        except (OSError, smtplib.SMTPException) as err:
            where = f"{self.settings.smtp_host}:{self.settings.smtp_port}"
            self.down = f"cannot reach the SMTP server {where}: {err or type(err).__name__}"
        else:
            self.down = None
            return self._conn
        return SendResult(Outcome.RETRY, self.down)

    def connect(self) -> str | None:
        """Make sure a connection is open; None when it is, else why not (nothing has been sent)."""
        opened = self._open()
        return opened.detail if isinstance(opened, SendResult) else None

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()

    def _reset(self, conn: smtplib.SMTP) -> None:
        """End a refused transaction so the connection can carry the next message (or drop it)."""
        try:
            code, _ = conn.rset()
        except (OSError, smtplib.SMTPException):
            code = 0
        if code != 250:
            self._drop()

    def send(self, sender: str, recipient: str, data: bytes) -> SendResult:
        """Send one message to one recipient; never raises for SMTP or network trouble."""
        for attempt in range(2):
            opened = self._open()
            if isinstance(opened, SendResult):
                return opened
            conn = opened
            try:
                code, reply = conn.mail(sender, ["SMTPUTF8"] if conn.has_extn("smtputf8") else [])
            except (OSError, smtplib.SMTPServerDisconnected):
                code, reply = 421, b"connection lost"
            if code == 421 and attempt == 0:
                # A reused connection the server has closed (idle timeout, message limit): nothing was
                # sent yet, so reconnect once and start over.
                self._drop()
                continue
            break
        if code != 250:
            self._reset(conn)
            return _refused("sender", code, reply)
        try:
            code, reply = conn.rcpt(recipient)
        except (OSError, smtplib.SMTPServerDisconnected) as err:
            self._drop()
            return SendResult(Outcome.RETRY, f"connection lost before the message was sent: {err}")
        if code not in (250, 251):
            self._reset(conn)
            return _refused("recipient", code, reply)
        return self._data(conn, data)

    def _data(self, conn: smtplib.SMTP, data: bytes) -> SendResult:
        try:
            conn.putcmd("data")
            code, reply = conn.getreply()
        except (OSError, smtplib.SMTPServerDisconnected) as err:
            self._drop()
            return SendResult(Outcome.RETRY, f"connection lost before the message was sent: {err}")
        if code != 354:
            self._reset(conn)
            return _refused("data", code, reply)
        try:
            conn.send(dot_stuffed(data))
            code, reply = conn.getreply()
        except (OSError, smtplib.SMTPServerDisconnected) as err:
            self._drop()
            return SendResult(
                Outcome.IN_DOUBT, f"connection lost after the message was handed over, before the reply: {err}"
            )
        if code != 250:
            return _refused("message", code, reply)
        return SendResult(Outcome.SENT, _reply(code, reply))

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                conn.close()

    def __enter__(self) -> SmtpSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
