"""Alert rules through the API: checked per kind (a PATCH too), webhooks that cannot reach inside, URLs never shown
whole; acting on alerts; failed top-ups. Written as the requests an integrator - or an attacker holding a key -
would send."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from operational_api.db import Store
from operational_api.models import AlertRule
from operational_api.services.alert_conditions import silent_open_time
from operational_api.services.alerting import Finding, observe
from pulse.alerts.delivery import MAX_BACKOFF, backoff
from pulse.core.settings import Settings
from tests.operational_api.conftest import Api
from tests.operational_api.factories import seed

SLACK = "https://hooks.slack.com/services/T000/B000/very-secret-token"


def _rule(**values: Any) -> dict[str, Any]:
    return {"name": "Lockouts", "kind": "pin_lockout", "emails": ["Owner@Example.com"], **values}


def _fields(answer: Any) -> dict[str, str]:
    return {".".join(str(p) for p in f["loc"]): f["reason"] for f in answer.json()["error"]["fields"]}


def test_a_rule_is_stored_with_its_kinds_defaults_and_its_webhook_never_shown_whole(api: Api) -> None:
    answer = api.client.post("/v1/alert-rules", json=_rule(kind="bad_credentials", webhooks=[SLACK]),
                             headers=api.headers("admin"))  # fmt: skip
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["params"] == {"window_minutes": 10, "threshold": 10}
    assert body["emails"] == ["owner@example.com"]
    assert body["webhooks"] == ["https://hooks.slack.com/…"]
    listed = api.client.get("/v1/alert-rules", headers=api.headers("admin")).text
    assert "very-secret-token" not in listed and "very-secret-token" not in answer.text


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8123/",  # the warehouse's HTTP interface runs a POSTed body as a query
        "http://localhost:8000/v1/customers",
        "http://[::1]:8123/",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://10.0.0.5/",
        "http://[::ffff:127.0.0.1]:8123/",
        "http://0.0.0.0:8123/",
        "http://2130706433:8123/",  # 127.0.0.1 as one number, as resolvers read it
        "http://0x7f.1:8123/",
        "http://localhost.:8123/",
        "http://[::7f00:1]:8123/",  # IPv4-compatible IPv6
        "http://[64:ff9b::7f00:1]:8123/",  # NAT64 to an inside address
        "http://[2002:7f00:1::]:8123/",  # 6to4
        "ftp://hooks.example.com/x",
        "https://user:password@hooks.example.com/x",
        "https://hooks.example.com:99999/x",
    ],
)
def test_a_webhook_cannot_point_inside(api: Api, url: str) -> None:
    answer = api.client.post("/v1/alert-rules", json=_rule(webhooks=[url]), headers=api.headers("admin"))
    assert answer.status_code == 422, answer.text
    assert "body.webhooks.0" in _fields(answer)
    assert api.client.get("/v1/alert-rules", headers=api.headers("admin")).json()["items"] == []


def test_parameters_are_checked_for_the_kind_and_a_patch_cannot_slip_past(api: Api, store: Store) -> None:
    admin = api.headers("admin")
    answer = api.client.post("/v1/alert-rules", json=_rule(kind="low_stock", params={"threshold": -1}), headers=admin)
    assert answer.status_code == 422 and "body.params.threshold" in _fields(answer)
    answer = api.client.post("/v1/alert-rules", json=_rule(params={"window_minutes": 5}), headers=admin)
    assert answer.status_code == 422 and "body.params.window_minutes" in _fields(answer)  # not a lockout's
    rule = api.client.post("/v1/alert-rules", json=_rule(kind="low_stock", params={"threshold": 3}), headers=admin)
    assert rule.status_code == 201
    rule_id = rule.json()["id"]
    # Changing only the kind re-checks the stored parameters against the new kind.
    answer = api.client.patch(f"/v1/alert-rules/{rule_id}", json={"kind": "machine_offline"}, headers=admin)
    assert answer.status_code == 422 and "body.params.threshold" in _fields(answer)
    answer = api.client.patch(f"/v1/alert-rules/{rule_id}", json={"params": {"open_hours": "25:00-07:00"}},
                              headers=admin)  # fmt: skip
    assert answer.status_code == 422
    answer = api.client.post("/v1/alert-rules", json=_rule(name="x", emails=["a..b@example.com"]), headers=admin)
    assert answer.status_code == 422 and "body.emails.0" in _fields(answer)  # past the pattern, not deliverable
    with store.read() as session:
        stored = session.scalars(select(AlertRule)).one()
        assert (stored.kind, stored.params) == ("low_stock", {"threshold": 3})


@pytest.mark.parametrize("scope", ["operator", "integration", "portal", "machine", "hospital"])
def test_only_admin_keys_manage_rules_and_act_on_alerts(api: Api, scope: str) -> None:
    assert api.client.get("/v1/alert-rules", headers=api.headers(scope)).status_code == 403
    assert api.client.post("/v1/alert-rules", json=_rule(), headers=api.headers(scope)).status_code == 403
    assert api.client.post("/v1/alerts/1/acknowledge", headers=api.headers(scope)).status_code == 403
    assert api.client.get("/v1/alerts/1/notifications", headers=api.headers(scope)).status_code == 403


def test_acknowledge_and_resolve_are_idempotent_and_name_who(api: Api, store: Store) -> None:
    now = dt.datetime.now(dt.UTC)
    with store.write() as session:
        rule = AlertRule(name="r", kind="low_stock", severity="info", enabled=True, params={"threshold": 1},
                         emails=["a@example.com"], webhooks=[], cooldown_minutes=60, remind_minutes=60)  # fmt: skip
        session.add(rule)
        session.flush()
        observe(session, rule, [Finding(subject="machine:1/product:1", message="1 left")], now)
    admin = api.headers("admin")
    alert_id = api.client.get("/v1/alerts", headers=admin).json()["items"][0]["id"]
    assert api.client.post("/v1/alerts/999999/acknowledge", headers=admin).status_code == 404
    first = api.client.post(f"/v1/alerts/{alert_id}/acknowledge", headers=admin).json()
    again = api.client.post(f"/v1/alerts/{alert_id}/acknowledge", headers=admin).json()
    assert first == again and first["status"] == "acknowledged" and first["acknowledged_by"] == "api:test admin"
    resolved = api.client.post(f"/v1/alerts/{alert_id}/resolve", headers=admin).json()
    assert resolved["status"] == "resolved" and resolved["acknowledged_by"] == "api:test admin"
    notes = api.client.get(f"/v1/alerts/{alert_id}/notifications", headers=admin).json()
    assert [(n["event"], n["channel"], n["target"], n["status"]) for n in notes] == [
        ("raised", "email", "a@example.com", "pending")
    ]


def test_a_rule_whose_metric_has_gone_can_still_be_disabled(api: Api, store: Store) -> None:
    with store.write() as session:
        rule = AlertRule(name="gone", kind="metric", severity="info", enabled=True, emails=[], webhooks=[],
                         params={"metric": "mart_gone.kits", "condition": "above", "threshold": 1},
                         cooldown_minutes=60, remind_minutes=60)  # fmt: skip
        session.add(rule)
        session.flush()
        rule_id = rule.id
    admin = api.headers("admin")
    answer = api.client.patch(f"/v1/alert-rules/{rule_id}", json={"enabled": False}, headers=admin)
    assert answer.status_code == 200 and answer.json()["enabled"] is False
    answer = api.client.patch(f"/v1/alert-rules/{rule_id}", json={"params": {"metric": "mart_gone.kits",
                              "condition": "above", "threshold": 2}}, headers=admin)  # fmt: skip
    assert answer.status_code == 422  # changing the parameters checks them


def test_a_webhook_named_twice_is_kept_once(api: Api) -> None:
    answer = api.client.post("/v1/alert-rules", json=_rule(webhooks=[SLACK, SLACK]), headers=api.headers("admin"))
    assert answer.status_code == 201 and answer.json()["webhooks"] == ["https://hooks.slack.com/…"]


def test_a_failed_top_up_is_recorded_once_by_those_who_take_top_ups(api: Api, store: Store) -> None:
    seed(store, machines=1, customers=1)
    customer_id = api.client.get("/v1/customers", headers=api.headers("operator")).json()["items"][0]["id"]
    body = {"attempt_id": "att-1", "customer_id": customer_id, "source": "phone_operator", "amount": "500.00",
            "currency": "RUB", "reason": "card declined", "occurred_at": "2026-12-06T10:00:00Z"}  # fmt: skip
    assert api.client.post("/v1/topup-failures", json=body, headers=api.headers("machine")).status_code == 403
    bad = api.client.post("/v1/topup-failures", json={**body, "amount": "-5"}, headers=api.headers("operator"))
    assert bad.status_code == 422 and "body.amount" in _fields(bad)
    assert api.client.post("/v1/topup-failures", json=body, headers=api.headers("operator")).status_code == 201
    again = api.client.post("/v1/topup-failures", json=body, headers=api.headers("portal"))
    assert again.status_code == 409  # a retry cannot count twice
    assert len(api.client.get("/v1/topup-failures", headers=api.headers("operator")).json()["items"]) == 1


def test_silence_is_counted_within_open_hours_only() -> None:
    zone = "Europe/Moscow"  # UTC+3
    since = dt.datetime(2026, 12, 5, 17, 0, tzinfo=dt.UTC)  # 20:00 in Moscow
    now = dt.datetime(2026, 12, 6, 7, 0, tzinfo=dt.UTC)  # 10:00 the next morning
    assert silent_open_time(since, now, None, zone) == dt.timedelta(hours=14)
    assert silent_open_time(since, now, "08:00-21:00", zone) == dt.timedelta(hours=3)  # 20-21 and 08-10
    assert silent_open_time(since, now, "00:00-24:00", zone) == dt.timedelta(hours=14)
    assert silent_open_time(since, now, "22:00-06:00", zone) == dt.timedelta(hours=8)  # open overnight


def test_retries_back_off_doubling_up_to_an_hour(tmp_path: Any) -> None:
    settings = Settings(home=tmp_path, alerts_retry_seconds=10)
    waits = [backoff(settings, attempts).total_seconds() for attempts in range(1, 6)]
    assert waits == [10, 20, 40, 80, 160]
    assert backoff(settings, 40) == MAX_BACKOFF
