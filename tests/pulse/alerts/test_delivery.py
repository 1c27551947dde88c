"""Sending alert notices, in this process against a real SMTP sink and a real HTTP receiver: many alerts of one rule
in one message, what each outcome does to a notice (sent, retried later, failed for good), and webhooks that may
not be called."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from operational_api.db import Store
from operational_api.migrate import upgrade
from operational_api.models import AlertNotification, AlertRule, utcnow
from operational_api.services.alerting import Finding, observe
from pulse.alerts.delivery import Result, _claim, _record, deliver_due, due
from pulse.core.settings import Settings
from reports.sink import outbox_files, read_message, start_sink
from tests.conftest import free_port
from tests.pulse.alerts.webhook_receiver import Receiver


@dataclass
class Env:
    settings: Settings
    store: Store
    outbox: Path
    receiver: Receiver

    def rule(self, **values: object) -> AlertRule:
        with self.store.write() as session:
            rule = AlertRule(**{"name": "Low stock", "kind": "low_stock", "severity": "info", "enabled": True,
                                "params": {"threshold": 2}, "emails": [], "webhooks": [], "cooldown_minutes": 60,
                                "remind_minutes": 60, **values})  # fmt: skip
            session.add(rule)
            session.flush()
            session.expunge(rule)
            return rule

    def raise_(self, rule: AlertRule, subjects: int) -> None:
        findings = [Finding(subject=f"machine:{i}/product:1", message=f"1 left of KIT-S in machine M{i:03d}")
                    for i in range(subjects)]  # fmt: skip
        with self.store.write() as session:
            observe(session, session.get(AlertRule, rule.id), findings, utcnow())  # type: ignore[arg-type]

    def notes(self) -> list[AlertNotification]:
        with self.store.read() as session:
            rows = session.scalars(select(AlertNotification).order_by(AlertNotification.id)).all()
            session.expunge_all()
            return list(rows)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    upgrade(url)
    smtp_port = free_port()
    settings = Settings(home=tmp_path, ops_database_url=url, smtp_host="127.0.0.1", smtp_port=smtp_port,
                        reports_secret_key="k", alerts_webhook_private_hosts="127.0.0.1", alerts_max_attempts=3)  # fmt: skip
    store = Store(settings=settings)
    sink = start_sink(tmp_path / "outbox", "127.0.0.1", smtp_port)
    receiver = Receiver(free_port())
    receiver.start()
    try:
        yield Env(settings, store, tmp_path / "outbox", receiver)
    finally:
        receiver.stop()
        sink.stop()
        store.dispose()


def test_alerts_of_one_rule_due_together_go_out_as_one_message_per_recipient(env: Env) -> None:
    rule = env.rule(emails=["owner@example.com", "ops@example.com"], webhooks=[env.receiver.url])
    env.raise_(rule, 30)
    sent = deliver_due(env.store, env.settings)
    assert sent == {"sent": 90}  # 30 alerts x (2 addresses + 1 webhook)
    files = outbox_files(env.outbox)
    assert len(files) == 2 and len(env.receiver.calls) == 1
    message = read_message(files[0])
    assert str(message["Subject"]) == "[INFO] Low stock: 30 alerts"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.count("/portal/alerts/") == 30 and "M029" in text
    call = env.receiver.calls[0]
    assert len(call["alerts"]) == 30 and call["text"].count("\n") == 21  # headline, 20 lines, "and 10 more"
    assert all(n.status == "sent" and n.attempts == 1 for n in env.notes())
    assert deliver_due(env.store, env.settings) == {}  # nothing twice


def test_a_mail_server_that_is_down_leaves_the_notice_for_later(env: Env) -> None:
    env.settings = env.settings.model_copy(update={"smtp_port": free_port()})  # nothing listens there
    rule = env.rule(emails=["owner@example.com"])
    env.raise_(rule, 1)
    assert deliver_due(env.store, env.settings) == {"retry": 1}
    note = env.notes()[0]
    assert note.status == "pending" and note.attempts == 1 and note.next_attempt_at > utcnow()
    assert deliver_due(env.store, env.settings) == {}  # not due yet: nothing tried
    later = note.next_attempt_at + dt.timedelta(seconds=1)
    assert deliver_due(env.store, env.settings, later) == {"retry": 1}
    assert deliver_due(env.store, env.settings, later + dt.timedelta(hours=2)) == {"failed": 1}  # out of attempts
    assert env.notes()[0].status == "failed"


@pytest.mark.parametrize(("status", "outcome"), [(503, "retry"), (429, "retry"), (400, "failed"), (404, "failed")])
def test_a_receiver_answering_an_error_is_retried_only_when_it_may_work_later(
    env: Env, status: int, outcome: str
) -> None:
    env.receiver.status = status
    rule = env.rule(webhooks=[env.receiver.url])
    env.raise_(rule, 1)
    assert deliver_due(env.store, env.settings) == {outcome: 1}
    note = env.notes()[0]
    assert note.status == ("pending" if outcome == "retry" else "failed")
    assert note.last_error is not None and str(status) in note.last_error and "secret-path" not in note.last_error


def test_a_webhook_stored_before_its_host_was_disallowed_is_not_called(env: Env) -> None:
    rule = env.rule(webhooks=[env.receiver.url])  # written while 127.0.0.1 was allowed
    env.raise_(rule, 1)
    strict = env.settings.model_copy(update={"alerts_webhook_private_hosts": ""})
    assert deliver_due(env.store, strict) == {"failed": 1}
    assert env.receiver.calls == [] and "loopback or private" in (env.notes()[0].last_error or "")


def test_a_receiver_that_does_not_answer_in_time_is_not_called_twice(env: Env) -> None:
    env.receiver.delay = 1.5
    slow = env.settings.model_copy(update={"alerts_webhook_timeout_seconds": 0.3})
    rule = env.rule(webhooks=[env.receiver.url])
    env.raise_(rule, 1)
    assert deliver_due(env.store, slow) == {"in_doubt": 1}  # it may have the notice: never sent again
    assert deliver_due(env.store, slow, utcnow() + dt.timedelta(hours=2)) == {}
    assert len(env.receiver.calls) == 1


def test_a_message_with_a_line_break_goes_out_on_one_subject_line(env: Env) -> None:
    rule = env.rule(emails=["owner@example.com"], webhooks=[env.receiver.url])
    with env.store.write() as session:
        finding = Finding(subject="customer:1", message="declined\r\nBcc: everyone@example.com <!channel>")
        observe(session, session.get(AlertRule, rule.id), [finding], utcnow())  # type: ignore[arg-type]
    assert deliver_due(env.store, env.settings) == {"sent": 2}
    message = read_message(outbox_files(env.outbox)[0])
    assert message["Bcc"] is None and "\n" not in str(message["Subject"])
    assert "<!channel>" not in env.receiver.calls[0]["text"] and "&lt;!channel&gt;" in env.receiver.calls[0]["text"]


def test_a_lease_that_ran_out_is_another_senders_to_record(env: Env) -> None:
    rule = env.rule(emails=["owner@example.com"])
    env.raise_(rule, 1)
    notice = due(env.store, utcnow())[0]
    mine, lease = _claim(env.store, [notice], utcnow())
    assert mine and _claim(env.store, [notice], utcnow())[0] == []  # leased: nobody else takes it
    later = lease + dt.timedelta(seconds=1)
    theirs, their_lease = _claim(env.store, [notice], later)  # the first sender took longer than its lease
    assert theirs and their_lease > lease
    assert _record(env.store, env.settings, mine, Result("sent"), lease, utcnow()) == {}  # not the first's any more
    assert _record(env.store, env.settings, theirs, Result("sent"), their_lease, later) == {"sent": 1}
