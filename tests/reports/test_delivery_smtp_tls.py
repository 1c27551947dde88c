"""Sending through a relay the way production does: STARTTLS (587) or implicit TLS (465) with a verified
certificate, and AUTH; a wrong password is a retryable failure that names the cause, and a relay that
insists on TLS refuses a client that does not use it."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from pulse.core.settings import Settings
from reports.smtp import Outcome, SmtpSender
from tests.conftest import free_port

MESSAGE = b"From: reports@pulse.example.com\r\nTo: anna@example.com\r\nSubject: hi\r\n\r\n.leading dot\r\nbody\r\n"


class Relay:
    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(bytes(envelope.original_content or envelope.content))
        return "250 OK"


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"reports", b"s3cret")
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def trusted(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """The relay's certificate is trusted the way an operator trusts a private CA (SSL_CERT_FILE)."""
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def start_relay(relay: Relay, context: ssl.SSLContext, *, implicit: bool) -> tuple[Controller, int]:
    port = free_port()
    options: dict[str, Any] = {"authenticator": authenticate, "auth_required": True}
    if implicit:
        # aiosmtpd does not count implicit TLS as TLS for AUTH: the whole connection is TLS anyway.
        controller = Controller(relay, hostname="127.0.0.1", port=port, ssl_context=context, auth_require_tls=False,
                                **options)  # fmt: skip
    else:
        controller = Controller(relay, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                                **options)  # fmt: skip
    controller.start()
    return controller, port


@pytest.fixture(params=["starttls", "ssl"])
def relay(request: pytest.FixtureRequest, trusted: ssl.SSLContext) -> Iterator[tuple[Relay, int, str]]:
    handler = Relay()
    controller, port = start_relay(handler, trusted, implicit=request.param == "ssl")
    yield handler, port, request.param
    controller.stop()


def test_tls_and_auth_as_production_relays_need(relay: tuple[Relay, int, str]) -> None:
    handler, port, mode = relay
    settings = Settings(
        smtp_host="127.0.0.1", smtp_port=port, smtp_tls=mode, smtp_user="reports", smtp_password="s3cret"
    )
    with SmtpSender(settings) as sender:
        results = [sender.send("reports@pulse.example.com", "anna@example.com", MESSAGE) for _ in range(2)]
    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.SENT], results
    assert len(handler.received) == 2 and b"\r\n.leading dot\r\n" in handler.received[0]  # dot-stuffing undone

    wrong = Settings(**{**settings.model_dump(), "smtp_password": "guess"})
    with SmtpSender(wrong) as sender:
        refused = sender.send("reports@pulse.example.com", "anna@example.com", MESSAGE)
    assert refused.outcome is Outcome.RETRY and refused.detail.startswith("SMTP login refused: 535")
    assert len(handler.received) == 2


def test_a_relay_requiring_starttls_refuses_plain_clients(trusted: ssl.SSLContext) -> None:
    handler = Relay()
    controller, port = start_relay(handler, trusted, implicit=False)
    try:
        plain = Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none")
        with SmtpSender(plain) as sender:
            result = sender.send("reports@pulse.example.com", "anna@example.com", MESSAGE)
    finally:
        controller.stop()
    assert result.outcome is Outcome.REJECTED and "530" in result.detail and handler.received == []
