"""Delivery over real SMTP: every statement once (a rerun or a concurrent run sends nothing more), a refused
recipient fails alone, unsubscribed recipients get nothing, a down SMTP server is retried with backoff
until it is back, a connection lost mid-message is in doubt and never resent on its own, and a recipient
query cannot write."""

from __future__ import annotations

import datetime as dt
import io
import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from clickhouse_connect.driver.exceptions import DatabaseError
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select, update

from operational_api.app import create_app
from operational_api.models import ReportDelivery, ReportSubscription, ReportUnsubscribe, utcnow
from operational_api.services.recipient_queries import RecipientQueryError
from operational_api.unsubscribe import make_token, signing_key
from reports import ledger
from reports.delivery import deliver as deliver_claimable
from reports.delivery import due_jobs, plan_subscription, run_job
from reports.sink import start_sink
from tests.conftest import free_port
from tests.reports.delivery_env import PERIOD, ReportsEnv
from warehouse.identities import reader_client

pytestmark = pytest.mark.xdist_group("reports")


def recipients(messages: list[EmailMessage]) -> Counter[str]:
    return Counter(str(m["To"].addresses[0].addr_spec).lower() for m in messages)


def test_each_statement_sent_once_with_pdf_html_and_unsubscribe(reports_env: ReportsEnv) -> None:
    env = reports_env
    sub = env.subscribe("customers", limit=10)
    first = env.run(sub, workers=2)  # a process pool of two workers, each with its own SMTP connection
    assert first.plan is not None and first.plan.recipients == 10 and first.plan.added == 10
    assert first.states == {"sent": 10} and first.ok
    messages = env.messages()
    assert recipients(messages) == Counter(env.customer_emails(10))  # each recipient exactly once

    rows = {row.email: row for row in env.ledger(sub)}
    for message in messages:
        row = rows[str(message["To"].addresses[0].addr_spec).lower()]
        assert row.state == "sent" and row.attempts == 1 and row.sent_at is not None
        assert message["Message-ID"] == row.message_id and message["X-Pulse-Delivery"] == str(row.id)
        link = message["List-Unsubscribe"].strip("<>")  # a raw URL, not RFC 2047 encoded words
        assert link.startswith("http://reports.test/v1/unsubscribe/")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message.get_content_type() == "multipart/mixed"
        html, text = message.get_body(("html",)), message.get_body(("plain",))
        assert html is not None and text is not None
        assert link in html.get_content() and link in text.get_content()
        (attachment,) = message.iter_attachments()
        assert attachment.get_content_type() == "application/pdf"
        assert attachment.get_filename().endswith(f"-{PERIOD}-{row.locale}.pdf")
        pdf = attachment.get_content()
        assert pdf.startswith(b"%PDF-") and len(PdfReader(io.BytesIO(pdf)).pages) >= 1

    again = env.run(sub, workers=2)
    assert again.plan is not None and again.plan.added == 0 and again.states == {}
    assert len(env.messages()) == 10  # nothing new
    assert [r.attempts for r in env.ledger(sub)] == [1] * 10


class RejectOne:
    """A plain aiosmtpd handler that refuses one mailbox for good (550) and keeps the other messages."""

    def __init__(self, refused: str) -> None:
        self.refused = refused
        self.received: list[str] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.lower() == self.refused:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.extend(a.lower() for a in envelope.rcpt_tos)
        return "250 OK"


def test_a_refused_recipient_fails_alone(reports_env: ReportsEnv) -> None:
    env = reports_env
    sub = env.subscribe("customers", limit=5)
    emails = env.customer_emails(5)
    refused = emails[2]
    handler = RejectOne(refused)
    port = free_port()
    server = Controller(handler, hostname="127.0.0.1", port=port)
    server.start()
    try:
        report = env.run(sub, env.with_smtp_port(port))
    finally:
        server.stop()
    assert report.states == {"sent": 4, "failed": 1}
    ((email, period, error),) = report.failures
    assert (email, period) == (refused, PERIOD) and error.startswith(f"recipient refused: 550 5.1.1 <{refused}")
    assert sorted(handler.received) == sorted(e for e in emails if e != refused)
    failed = next(r for r in env.ledger(sub) if r.email == refused)
    assert failed.state == "failed" and failed.next_attempt_at is None  # a 5xx is final: not retried


def test_unsubscribed_recipients_get_nothing(reports_env: ReportsEnv) -> None:
    env = reports_env
    sub = env.subscribe("customers", limit=5)
    x, y, z = env.customer_emails(5)[:3]
    key = signing_key(env.settings)
    with TestClient(create_app(store=env.store, settings=env.settings)) as api:
        assert api.post(f"/v1/unsubscribe/{make_token(key, sub.id, x)}").status_code == 200  # before the run
        now = utcnow()
        planned = plan_subscription(env.settings, env.store, sub, period=PERIOD, run_id="t", now=now)
        assert {p.email: p.state for p in planned.planned}[x] == "skipped"
        # After planning, before sending: one-click unsubscribe from the mail client's button.
        assert api.post(f"/v1/unsubscribe/{make_token(key, sub.id, y)}").status_code == 200
        sent = deliver_claimable(env.settings, env.store, sub, run_id="t", now=now)
        assert sent["sent"] == 3
        messages = env.messages()
        assert x not in recipients(messages) and y not in recipients(messages) and len(messages) == 3
        # The link in a delivered email works through the API too.
        to_z = next(m for m in messages if str(m["To"].addresses[0].addr_spec).lower() == z)
        link = to_z["List-Unsubscribe"].strip("<>").removeprefix("http://reports.test")
        assert api.get(link).status_code == 200  # the confirm page: a scanner following it changes nothing
        with env.store.read() as session:
            assert z not in set(session.scalars(select(ReportUnsubscribe.email)))
        assert api.post(link).status_code == 200
    states = {r.email: (r.state, r.last_error) for r in env.ledger(sub)}
    assert states[x] == ("skipped", "unsubscribed") and states[y] == ("skipped", "unsubscribed")
    with env.store.read() as session:
        assert set(session.scalars(select(ReportUnsubscribe.email))) == {x, y, z}
    later = plan_subscription(env.settings, env.store, sub, period="2026-04", run_id="t2", now=now)
    assert {p.email: p.state for p in later.planned if p.email in (x, y, z)} == dict.fromkeys((x, y, z), "skipped")


def test_concurrent_runs_do_not_double_send(reports_env: ReportsEnv) -> None:
    env = reports_env
    sub = env.subscribe("customers", limit=8)
    child_env = {**os.environ, **env.env()}
    command = [sys.executable, "-m", "pulse", "reports", "run", sub.name, "--period", PERIOD, "--workers", "1"]
    runs = [
        subprocess.Popen(command, env=child_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300)[0].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert recipients(env.messages()) == Counter(env.customer_emails(8))  # each exactly once, whoever sent it
    assert {(r.state, r.attempts) for r in env.ledger(sub)} == {("sent", 1)}


def test_smtp_down_then_back_delivers_exactly_once(reports_env: ReportsEnv) -> None:
    env = reports_env
    sub = env.subscribe("customers", limit=4)
    port = free_port()  # nothing listens here yet
    settings = env.with_smtp_port(port)
    down = env.run(sub, settings)
    assert down.states == {"failed": 4} and len(down.failures) == 4
    rows = env.ledger(sub)
    assert all(r.attempts == 1 and r.next_attempt_at is not None for r in rows)
    assert all(f"cannot reach the SMTP server 127.0.0.1:{port}" in (r.last_error or "") for r in rows)
    retry_at = [r.next_attempt_at for r in rows if r.next_attempt_at is not None]
    assert due_jobs(env.store, min(retry_at) - dt.timedelta(seconds=1)) == []  # retries wait for their backoff

    outbox = env.settings.home / "outbox-2"
    sink = start_sink(outbox, "127.0.0.1", port)
    try:
        later = max(retry_at) + dt.timedelta(seconds=1)
        (job,) = due_jobs(env.store, later)
        assert job.fire_at is None  # only the retries are due, the schedule is not
        back = run_job(settings, job, run_id="retry-run", now=later)
        assert back.states == {"sent": 4}
        assert due_jobs(env.store, later) == []
        again = env.run(sub, settings, now=later)
        assert again.states == {}
    finally:
        sink.stop()
    delivered = [BytesParser().parsebytes(p.read_bytes()) for p in sorted(outbox.glob("*.eml"))]
    assert Counter(str(m["To"]).rsplit("<", 1)[-1].strip(">").lower() for m in delivered) == Counter(
        env.customer_emails(4)
    )
    assert {(r.state, r.attempts) for r in env.ledger(sub)} == {("sent", 2)}


class BlackHole:
    """Speaks just enough SMTP to take a message, then drops the connection instead of answering it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.bodies: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as reader:
                conn.sendall(b"220 blackhole\r\n")
                for line in reader:
                    verb = line[:4].upper()
                    if verb == b"DATA":
                        conn.sendall(b"354 go ahead\r\n")
                        body = b"".join(iter(lambda: reader.readline(), b".\r\n"))
                        self.bodies.append(body)
                        break  # hang up without the 250
                    if verb == b"QUIT":
                        break
                    conn.sendall(b"250 ok\r\n")

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    server = BlackHole()
    yield server
    server.close()


def test_connection_lost_after_the_message_is_in_doubt_and_not_resent(
    reports_env: ReportsEnv, black_hole: BlackHole
) -> None:
    env = reports_env
    sub = env.subscribe("customers", limit=2)
    report = env.run(sub, env.with_smtp_port(black_hole.port))
    assert report.states == {"in_doubt": 2} and not report.ok
    assert all("after the message was handed over" in error for _, _, error in report.failures)
    assert len(black_hole.bodies) == 2
    assert env.run(sub, env.with_smtp_port(black_hole.port)).states == {}  # a rerun does not resend
    assert due_jobs(env.store, utcnow() + dt.timedelta(days=1)) == []  # nor does any later retry
    assert len(black_hole.bodies) == 2

    # The operator checked that they did not arrive and requeues them: the resend has the same Message-ID.
    first_ids = {BytesParser().parsebytes(body)["Message-ID"] for body in black_hole.bodies}
    assert ledger.requeue(env.store, sub.id, states=["failed", "in_doubt"], period=PERIOD, email=None) == 2
    assert env.run(sub).states == {"sent": 2}
    assert {str(m["Message-ID"]) for m in env.messages()} == first_ids

    # A sender that died between handing a message over and recording it leaves a stale claim: in doubt.
    row_id = env.ledger(sub)[0].id
    with env.store.write() as session:
        session.execute(
            update(ReportDelivery)
            .where(ReportDelivery.id == row_id)
            .values(state="sending", claimed_at=utcnow() - dt.timedelta(hours=1), change_seq=10**12)
        )
    assert ledger.expire_claims(env.store, utcnow()) == 1
    assert env.ledger(sub)[0].state == "in_doubt"


def test_recipient_query_runs_read_only(reports_env: ReportsEnv) -> None:
    env = reports_env
    sub = env.subscribe("customers", limit=2)
    client = env.warehouse.client()
    before = client.query("SELECT count() FROM marts.dim_customers").result_rows[0][0]
    for query, reason in (
        ("INSERT INTO marts.dim_customers SELECT * FROM marts.dim_customers", "must be one SELECT"),
        ("SELECT customer_id, email, locale FROM marts.dim_customers SETTINGS readonly = 0", "read-only user"),
    ):
        # Stored without the API's check (as if written straight into the store), the run still refuses it.
        with env.store.write() as session:
            row = session.get(ReportSubscription, sub.id)
            assert row is not None
            row.recipient_query = query
        with pytest.raises(RecipientQueryError, match=reason):
            env.run(env.refresh(sub))
    assert env.ledger(sub) == [] and env.messages() == []
    # The user the queries run as cannot write whatever the statement says.
    with pytest.raises(DatabaseError, match="READONLY"):
        reader_client(env.settings).command("CREATE TABLE default.recipients_pwned (x UInt8) ENGINE = Memory")
    assert client.query("SELECT count() FROM marts.dim_customers").result_rows[0][0] == before


def test_unusable_recipient_rows_are_recorded_not_sent(reports_env: ReportsEnv) -> None:
    env = reports_env
    query = """SELECT customer_id, email, locale, full_name AS name FROM (
        SELECT customer_id, email, locale, full_name FROM marts.dim_customers
        WHERE statement_email_consent AND email != '' AND client_id NOT LIKE '99000%' ORDER BY customer_id LIMIT 1
        UNION ALL SELECT 101, 'not an address', 'en', 'Bad Address'
        UNION ALL SELECT 102, 'klingon@example.com', 'tlh', 'Bad Locale'
        UNION ALL SELECT 103, NULL, 'en', 'No Address')"""
    sub = env.subscribe("mixed", query=query)
    report = env.run(sub)
    assert report.plan is not None and report.plan.without_email == 1
    assert report.states == {"sent": 1, "failed": 2}
    errors = {email: error for email, _, error in report.failures}
    assert "not an email address" in errors["not an address"]
    assert "locale 'tlh' is not one of en, ru" in errors["klingon@example.com"]
    assert len(env.messages()) == 1


def test_a_recipient_query_that_finds_nobody_sends_nothing(reports_env: ReportsEnv) -> None:
    """A business without counterparties: their statements' query is valid and simply returns no rows."""
    env = reports_env
    query = "SELECT customer_id, email, locale FROM marts.dim_customers WHERE customer_id < 0"
    sub = env.subscribe("nobody", query=query)
    report = env.run(sub)
    assert report.plan is not None and report.states == {}
    assert env.ledger(sub) == [] and env.messages() == []
