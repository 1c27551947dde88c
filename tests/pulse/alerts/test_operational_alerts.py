"""Operational alerts end to end: the real API (`pulse portal serve`) and the real alerts service (`pulse alerts
serve`, evaluating every half second) as processes on one SQLite store, a real SMTP sink and a webhook receiver.

The events go through the API as machines send them; time passing (a machine silent for hours, an hour since the
last notice) is written into the store file, as the clock would have. The tests wait for effects (an email in the
outbox, a call at the receiver, the service's heartbeat moving on), never for a fixed time.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from operational_api.db import Store
from operational_api.migrate import upgrade
from pulse.alerts.service import heartbeat_path
from pulse.core.settings import Settings
from reports.sink import outbox_files, read_message, start_sink
from tests.conftest import free_port
from tests.operational_api.factories import World, keys_for_every_scope, seed
from tests.polling import wait_until
from tests.pulse.alerts.webhook_receiver import Receiver

INTERVAL = 0.5  # the alerts service's evaluation interval in these tests
OWNER = "owner@alerts.test"


@dataclass
class Alerting:
    settings: Settings
    store: Store
    world: World
    keys: dict[str, str]
    api: str
    outbox: Path
    receiver: Receiver
    late_receiver: Receiver  # not listening until a test starts it
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def http(self, scope: str = "admin") -> httpx.Client:
        return httpx.Client(base_url=self.api, headers={"Authorization": f"Bearer {self.keys[scope]}"}, timeout=30)

    def rule(self, **values: Any) -> int:
        with self.http() as client:
            answer = client.post("/v1/alert-rules", json=values)
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])

    def authorise(self, client_id: str, pin: str, serial: str | None = None) -> dict[str, Any]:
        with self.http("machine") as client:
            answer = client.post("/v1/vend-authorisations", json={
                "machine_serial": serial or self.world.machine_serials[0], "client_id": client_id,
                "sku": self.world.skus[0], "quantity": 1, "pin": pin})  # fmt: skip
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def alerts(self, rule_id: int) -> list[dict[str, Any]]:
        with self.http() as client:
            answer = client.get("/v1/alerts", params={"rule_id": rule_id})
        assert answer.status_code == 200, answer.text
        return list(answer.json()["items"])

    def emails(self, alert_id: int) -> list[str]:
        """Subjects of the messages about one alert in the outbox, oldest first."""
        found = []
        for path in outbox_files(self.outbox):
            message = read_message(path)
            if message["X-Pulse-Alert"] == str(alert_id):
                found.append(str(message["Subject"]))
        return found

    def link(self, alert_id: int) -> str:
        """The link in the first email about the alert (its page, to acknowledge or resolve)."""
        for path in outbox_files(self.outbox):
            message = read_message(path)
            if message["X-Pulse-Alert"] == str(alert_id):
                text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
                found = re.search(r"https?://\S+/portal/alerts/\S+", text)
                assert found is not None, text
                return found[0]
        raise AssertionError(f"no email about alert {alert_id}")

    def rounds(self, count: int = 3) -> None:
        """Let the alerts service finish `count` more evaluation rounds (its heartbeat moves after each)."""
        beat = heartbeat_path(self.settings)
        for _ in range(count):
            before = beat.stat().st_mtime_ns
            wait_until(lambda before=before: beat.stat().st_mtime_ns != before, what="the service finished a round")

    def sql(self, statement: str, *params: Any) -> None:
        """What the clock would have done: write the store file directly."""
        with sqlite3.connect(self.settings.home / "ops.db") as conn:
            conn.execute(statement, params)


@pytest.fixture(scope="module")
def alerting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alerting]:
    home = tmp_path_factory.mktemp("alerting")
    url = f"sqlite:///{home / 'ops.db'}"
    upgrade(url)
    smtp_port, api_port = free_port(), free_port()
    api = f"http://127.0.0.1:{api_port}"
    settings = Settings(home=home, ops_database_url=url, smtp_host="127.0.0.1", smtp_port=smtp_port,
                        reports_secret_key="alert-test-key", reports_public_url=api)  # fmt: skip
    store = Store(settings=settings)
    world = seed(store, machines=3, customers=4)
    with store.write() as session:
        keys = keys_for_every_scope(session)
    outbox = home / "outbox"
    sink = start_sink(outbox, "127.0.0.1", smtp_port)
    receiver, late = Receiver(free_port()), Receiver(free_port())
    receiver.start()
    env = {**os.environ, "PULSE_HOME": str(home), "PULSE_OPS_DATABASE_URL": url, "PULSE_API_HOST": "127.0.0.1",
           "PULSE_API_PORT": str(api_port), "PULSE_SMTP_HOST": "127.0.0.1", "PULSE_SMTP_PORT": str(smtp_port),
           "PULSE_REPORTS_SECRET_KEY": "alert-test-key", "PULSE_REPORTS_PUBLIC_URL": api,
           "PULSE_ALERTS_INTERVAL_SECONDS": str(INTERVAL), "PULSE_ALERTS_RETRY_SECONDS": "0.2",
           "PULSE_ALERTS_WEBHOOK_PRIVATE_HOSTS": "127.0.0.1"}  # fmt: skip
    pulse = str(Path(sys.executable).parent / "pulse")
    env_out = Alerting(settings, store, world, keys, api, outbox, receiver, late)
    try:
        for command in (["portal", "serve"], ["alerts", "serve"]):
            env_out.processes.append(subprocess.Popen([pulse, *command], env=env, stdout=subprocess.DEVNULL,
                                                      stderr=subprocess.PIPE))  # fmt: skip
        wait_until(lambda: _answers(f"{api}/healthz"), what="the API answered", timeout=60)
        wait_until(lambda: heartbeat_path(settings).exists(), what="the alerts service ran a round", timeout=60)
        yield env_out
    finally:
        for process in env_out.processes:
            process.terminate()
            process.wait(timeout=30)
        receiver.stop()
        late.stop()
        sink.stop()
        store.dispose()
        shutil.rmtree(home / "run", ignore_errors=True)


def _ago(**delta: float) -> str:
    """A moment in the past as the store keeps timestamps on SQLite: naive UTC text."""
    return (dt.datetime.now(dt.UTC) - dt.timedelta(**delta)).replace(tzinfo=None).isoformat(sep=" ")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _one(alerting: Alerting, rule_id: int, status: str | None = None) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        rows = [a for a in alerting.alerts(rule_id) if status is None or a["status"] == status]
        return rows[0] if len(rows) == 1 else None

    return wait_until(found, what=f"rule {rule_id} had one {status or ''} alert", timeout=30)


# -- the cases ------------------------------------------------------------------------------------------
def test_five_bad_pins_bring_one_email_and_one_webhook_call_and_acknowledging_stops_reminders(
    alerting: Alerting,
) -> None:
    rule_id = alerting.rule(name="Lockouts", kind="pin_lockout", severity="warning", emails=[OWNER],
                            webhooks=[alerting.receiver.url], cooldown_minutes=60, remind_minutes=60)  # fmt: skip
    client_id = alerting.world.client_ids[0]
    reasons = [alerting.authorise(client_id, "0000")["reason"] for _ in range(5)]
    assert reasons == ["bad_pin"] * 5
    alert = _one(alerting, rule_id)
    wait_until(lambda: alerting.emails(alert["id"]), what="the lockout email reached the outbox")
    wait_until(lambda: alerting.receiver.about(alert["id"]), what="the webhook was called")
    assert alert["kind"] == "pin_lockout" and client_id in alert["message"]
    assert alerting.world.machine_serials[0] in alert["message"]
    call = alerting.receiver.about(alert["id"])[0]
    assert client_id in call["text"] and call["alert"]["event"] == "raised" and "/portal/alerts/" in call["text"]

    # A sixth attempt is refused as locked: the alert stands, nobody is told twice.
    assert alerting.authorise(client_id, "0000")["reason"] == "pin_locked"
    alerting.rounds()
    assert len(alerting.emails(alert["id"])) == 1 and len(alerting.receiver.about(alert["id"])) == 1
    assert len(alerting.alerts(rule_id)) == 1

    # An hour passes unacknowledged: a reminder goes out.
    alerting.sql("UPDATE alerts SET notified_at = ? WHERE id = ?",
                 _ago(minutes=61), alert["id"])  # fmt: skip
    wait_until(lambda: len(alerting.emails(alert["id"])) == 2, what="a reminder arrived")
    assert alerting.emails(alert["id"])[1].startswith("Reminder: ")

    # The owner follows the link in the email and acknowledges: another hour passes, and no reminder comes.
    link = alerting.link(alert["id"])
    with httpx.Client(timeout=30) as browser:
        page = browser.get(link)
        assert page.status_code == 200 and client_id in page.text
        token = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
        assert token is not None
        assert browser.post(link, data={"csrf": token[1], "action": "acknowledge"}).status_code == 303
    acknowledged = _one(alerting, rule_id, "acknowledged")
    assert acknowledged["acknowledged_by"] == OWNER
    alerting.sql("UPDATE alerts SET notified_at = ? WHERE id = ?",
                 _ago(minutes=121), alert["id"])  # fmt: skip
    alerting.rounds()
    assert len(alerting.emails(alert["id"])) == 2

    # The operator unlocks the account: the alert resolves and those told hear so.
    customer_id = int(alert["customer_id"])
    with alerting.http("operator") as client:
        assert client.post(f"/v1/customers/{customer_id}/unlock").status_code == 200
    wait_until(lambda: len(alerting.emails(alert["id"])) == 3, what="the resolution notice arrived")
    assert alerting.emails(alert["id"])[2].startswith("Resolved: ")
    assert _one(alerting, rule_id)["status"] == "resolved"


def test_a_silent_machine_raises_machine_offline_once_and_resolves_when_it_posts_again(alerting: Alerting) -> None:
    serial = alerting.world.machine_serials[1]
    client_id = alerting.world.client_ids[1]
    rule_id = alerting.rule(name="Silent machines", kind="machine_offline", params={"silent_hours": 2},
                            emails=[OWNER])  # fmt: skip
    assert alerting.authorise(client_id, "2468", serial)["decision"] == "approved"  # it talks: last_seen_at set
    alerting.rounds()
    assert alerting.alerts(rule_id) == []
    # Three hours pass without a request from it.
    alerting.sql("UPDATE machines SET last_seen_at = ? WHERE serial = ?",
                 _ago(hours=3), serial)  # fmt: skip
    alert = _one(alerting, rule_id, "open")
    assert serial in alert["message"] and "silent" in alert["message"]
    wait_until(lambda: alerting.emails(alert["id"]), what="the machine_offline email arrived")
    alerting.rounds()
    assert len(alerting.alerts(rule_id)) == 1 and len(alerting.emails(alert["id"])) == 1
    # It posts again.
    alerting.authorise(client_id, "2468", serial)
    assert _one(alerting, rule_id, "resolved")["id"] == alert["id"]
    wait_until(lambda: len(alerting.emails(alert["id"])) == 2, what="the resolution notice arrived")


def test_a_webhook_receiver_that_is_down_gets_retries_with_backoff_and_the_alert_is_not_lost(
    alerting: Alerting,
) -> None:
    receiver = alerting.late_receiver  # nothing listens on its port yet
    rule_id = alerting.rule(name="Low stock, chat only", kind="low_stock", params={"threshold": 1},
                            webhooks=[receiver.url], remind_minutes=0)  # fmt: skip
    machine_id = _machine_id(alerting, alerting.world.machine_serials[2])
    alerting.sql("UPDATE machine_stock SET quantity = 1 WHERE machine_id = ? AND product_id = "
                 "(SELECT min(product_id) FROM machine_stock WHERE machine_id = ?)", machine_id, machine_id)  # fmt: skip
    alert = _one(alerting, rule_id, "open")

    def attempts() -> list[dict[str, Any]]:
        with alerting.http() as client:
            return list(client.get(f"/v1/alerts/{alert['id']}/notifications").json())

    tried = wait_until(lambda: (n := attempts()) and n[0]["attempts"] >= 3 and n, what="three attempts were made")
    note = tried[0]
    assert note["status"] == "pending" and "did not answer" in note["last_error"]
    assert note["target"].endswith("/…") and "secret-path" not in note["target"]  # the URL's secret is not shown
    receiver.start()
    wait_until(lambda: receiver.about(alert["id"]), what="the receiver, once up, got the alert", timeout=60)
    delivered = attempts()[0]
    assert delivered["status"] == "sent" and delivered["attempts"] > 3 and delivered["last_error"] is None
    assert len(receiver.about(alert["id"])) == 1


def _machine_id(alerting: Alerting, serial: str) -> int:
    with alerting.http() as client:
        return int(client.get("/v1/machines", params={"serial": serial}).json()["items"][0]["id"])
