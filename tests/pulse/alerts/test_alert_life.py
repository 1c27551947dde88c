"""The life of an alert on a real SQLite store, with the clock moved by hand: a condition that flaps within its
cooldown, reminders until someone acknowledges, resolution notices to those told and only them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from operational_api.db import Store
from operational_api.migrate import upgrade
from operational_api.models import Alert, AlertNotification, AlertRule
from operational_api.services.alert_conditions import silent_open_time
from operational_api.services.alerting import Finding, acknowledge, observe
from pulse.core.settings import Settings

T0 = dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC)
LOCKED = [Finding(subject="customer:7", message="Customer C7 was locked out")]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    upgrade(url)
    store = Store(settings=Settings(home=tmp_path, ops_database_url=url))
    yield store
    store.dispose()


def _rule(store: Store, **values: object) -> int:
    with store.write() as session:
        rule = AlertRule(**{"name": "Lockouts", "kind": "pin_lockout", "severity": "warning", "enabled": True,
                            "params": {}, "emails": ["owner@example.com"], "webhooks": [], "cooldown_minutes": 60,
                            "remind_minutes": 60, **values})  # fmt: skip
        session.add(rule)
        session.flush()
        return rule.id


def _at(store: Store, rule_id: int, minutes: float, findings: list[Finding]) -> None:
    with store.write() as session:
        observe(session, session.get(AlertRule, rule_id), findings, T0 + dt.timedelta(minutes=minutes))  # type: ignore[arg-type]


def _notices(store: Store) -> list[tuple[str, int, str]]:
    with store.read() as session:
        rows = session.execute(
            select(AlertNotification.event, AlertNotification.sequence, AlertNotification.target)
            .order_by(AlertNotification.id)
        ).all()  # fmt: skip
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_a_condition_flapping_within_its_cooldown_tells_people_once_each_way(store: Store) -> None:
    rule_id = _rule(store)
    _at(store, rule_id, 0, LOCKED)  # locked
    _at(store, rule_id, 5, [])  # unlocked
    _at(store, rule_id, 10, LOCKED)  # locked again within the cooldown: the same alert, reopened silently
    _at(store, rule_id, 15, [])  # unlocked again: nobody was told of the reopening, nobody hears it resolved
    _at(store, rule_id, 20, LOCKED)
    assert _notices(store) == [("raised", 0, "owner@example.com"), ("resolved", 0, "owner@example.com")]
    with store.read() as session:
        alerts = session.scalars(select(Alert)).all()
        assert len(alerts) == 1 and alerts[0].occurrences == 3 and alerts[0].status == "open"
    _at(store, rule_id, 61, LOCKED)  # still locked an hour after the last notice: a reminder
    _at(store, rule_id, 70, [])  # resolved: those reminded hear it, with the next resolution's number
    assert _notices(store)[2:] == [("reminder", 1, "owner@example.com"), ("resolved", 1, "owner@example.com")]
    _at(store, rule_id, 200, LOCKED)  # past the cooldown: a new alert, a new notice
    with store.read() as session:
        assert len(session.scalars(select(Alert)).all()) == 2
    assert _notices(store)[-1][0] == "raised"


def test_an_address_named_twice_is_told_once_and_acknowledging_cancels_a_reminder_not_yet_sent(store: Store) -> None:
    rule_id = _rule(store, emails=["owner@example.com", "owner@example.com"], webhooks=["https://h.test/x"] * 2)
    _at(store, rule_id, 0, LOCKED)
    assert sorted(_notices(store)) == [("raised", 0, "https://h.test/x"), ("raised", 0, "owner@example.com")]
    _at(store, rule_id, 61, LOCKED)  # a reminder queued...
    with store.write() as session:  # ...and the owner acknowledges before it went out
        alert_id = session.scalars(select(Alert.id)).one()
        acknowledge(session, alert_id, "owner@example.com", T0 + dt.timedelta(minutes=62))
    with store.read() as session:
        reminders = session.scalars(select(AlertNotification).where(AlertNotification.event == "reminder")).all()
        assert {(n.status, n.last_error) for n in reminders} == {("failed", "not sent: acknowledged")}
    _at(store, rule_id, 200, LOCKED)  # acknowledged: no more reminders however long it stands
    assert sorted(n for n in _notices(store) if n[0] == "reminder") == [("reminder", 1, "https://h.test/x"),
                                                                        ("reminder", 1, "owner@example.com")]  # fmt: skip


def test_silence_across_a_daylight_saving_change_counts_real_hours() -> None:
    since = dt.datetime(2026, 3, 28, 19, 0, tzinfo=dt.UTC)  # 20:00 in Berlin (UTC+1)
    now = dt.datetime(2026, 3, 29, 6, 0, tzinfo=dt.UTC)  # 08:00 in Berlin, now UTC+2: 11 hours later
    assert silent_open_time(since, now, "20:00-08:00", "Europe/Berlin") == dt.timedelta(hours=11)
