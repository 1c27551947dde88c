"""The embedded SMTP sink: accepts every message and stores it as a .eml file in PULSE_HOME/outbox.

It stands in for a mail relay on embedded defaults (`pulse up` starts it as a background service when
PULSE_SMTP_SINK is true), so report runs deliver for real over SMTP and every message can be read back
(`pulse reports outbox`). Files are written to a temporary name and renamed, so a reader never sees half
a message; the envelope sender and recipients are recorded as `X-Pulse-Envelope-*` headers on top.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import signal
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from pathlib import Path
from typing import Any

from pulse.core.console import PulseError
from pulse.core.processes import Service, pulse_command, pulse_env
from pulse.core.settings import Settings

MAX_MESSAGE_BYTES = 64 * 1024**2


def outbox_dir(settings: Settings) -> Path:
    return settings.home / "outbox"


class OutboxHandler:
    """aiosmtpd handler: every message accepted is one file in the outbox."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox
        self.outbox.mkdir(parents=True, exist_ok=True)
        self._counter = itertools.count(1)

    def store(self, mail_from: str, rcpt_tos: list[str], content: bytes) -> Path:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        name = f"{stamp}-{os.getpid()}-{next(self._counter):07d}.eml"
        envelope = f"X-Pulse-Envelope-From: <{mail_from}>\r\nX-Pulse-Envelope-To: {', '.join(rcpt_tos)}\r\n"
        tmp = self.outbox / f".{name}.tmp"
        tmp.write_bytes(envelope.encode() + content)
        path = self.outbox / name
        os.replace(tmp, path)
        return path

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        path = self.store(envelope.mail_from, list(envelope.rcpt_tos), bytes(content))
        return f"250 OK queued as {path.name}"


def start_sink(outbox: Path, host: str, port: int, handler: Any | None = None) -> Any:
    """Start a sink in a background thread of this process; returns the aiosmtpd Controller (`.stop()`)."""
    from aiosmtpd.controller import Controller

    controller = Controller(
        handler or OutboxHandler(outbox),
        hostname=host,
        port=port,
        ready_timeout=30,
        data_size_limit=MAX_MESSAGE_BYTES,
        enable_SMTPUTF8=True,
        ident="Pulse SMTP sink",
    )
    controller.start()
    return controller


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Run the sink in the foreground until SIGTERM or SIGINT."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    host, port = host or settings.smtp_host, port or settings.smtp_port
    try:
        controller = start_sink(outbox_dir(settings), host, port)
    except (OSError, RuntimeError) as err:
        raise PulseError(
            f"the SMTP sink cannot listen on {host}:{port}: {err}",
            hint="free the port, or set PULSE_SMTP_SINK=false when PULSE_SMTP_HOST is a real relay",
        ) from None
    try:
        stop.wait()
    finally:
        controller.stop()


def smtp_answers(host: str, port: int, timeout: float = 2.0) -> bool:
    """True when an SMTP server greets (220) at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            greeting = sock.makefile("rb").readline(512)
            ok = greeting.startswith(b"220")
            sock.sendall(b"QUIT\r\n")
            return ok
    except OSError:
        return False


def service(settings: Settings) -> Service:
    """The sink as a background service of the platform (pidfile and log under PULSE_HOME/run)."""
    host, port = settings.smtp_host, settings.smtp_port
    env = {**pulse_env(settings), "PULSE_SMTP_HOST": host, "PULSE_SMTP_PORT": str(port)}
    return Service(
        name="smtp-sink",
        command=pulse_command("reports", "sink"),
        health_url=f"smtp://{host}:{port}",
        env=env,
        probe=lambda: smtp_answers(host, port),
    )


@dataclass(frozen=True)
class OutboxEntry:
    path: Path
    received: dt.datetime
    to: str
    subject: str
    message_id: str
    size: int


def _received(path: Path) -> dt.datetime:
    try:
        return dt.datetime.strptime(path.name.split("-", 1)[0], "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)


def outbox_files(outbox: Path) -> list[Path]:
    """Stored messages, oldest first (names start with the time they were received)."""
    if not outbox.exists():
        return []
    return sorted(p for p in outbox.glob("*.eml") if not p.name.startswith("."))


def read_entries(paths: list[Path]) -> Iterator[OutboxEntry]:
    parser = BytesHeaderParser(policy=policy.default)
    for path in paths:
        with path.open("rb") as handle:
            headers = parser.parse(handle)
        yield OutboxEntry(
            path=path,
            received=_received(path),
            to=str(headers.get("To", "")),
            subject=str(headers.get("Subject", "")),
            message_id=str(headers.get("Message-ID", "")),
            size=path.stat().st_size,
        )


def read_message(path: Path) -> EmailMessage:
    with path.open("rb") as handle:
        message = BytesParser(policy=policy.default).parse(handle)
    assert isinstance(message, EmailMessage)
    return message
