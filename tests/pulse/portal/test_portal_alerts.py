"""The portal's alert pages against the running process (`pulse portal serve`) and its real store, probed as their
users and as an attacker would: who may see the log and the rules, forms without their CSRF token, rules the API
would refuse (a webhook into the warehouse, parameters wrong for the kind), the link in every alert notice and
links that are not one. Rules and alerts are written straight into the store (no warehouse needed for them)."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
from sqlalchemy import select

from operational_api.models import Alert, AlertNotification, AlertRule, utcnow
from operational_api.services.alerting import Finding, observe
from operational_api.unsubscribe import make_alert_token, make_recipient_token, make_token, signing_key
from tests.pulse.portal.conftest import EMAILS, Portal, csrf_of

pytestmark = [pytest.mark.xdist_group("portal"), pytest.mark.timeout(900)]
HOOK = "https://hooks.example.com/services/T0/B0/s3cr3t-path-token"
SECRET = "s3cr3t-path-token"  # the part of the URL no page may show
OWNER = "ops@alerts.test"


def _alert(portal: Portal, name: str = "Low stock", webhooks: tuple[str, ...] = (HOOK,)) -> int:
    """A rule and the alert it raised, as the alerts service leaves them: one notice sent, one failed."""
    with portal.store.write() as session:
        rule = AlertRule(name=name, kind="low_stock", severity="warning", enabled=True, params={"threshold": 2},
                         emails=[OWNER], webhooks=list(webhooks), cooldown_minutes=60, remind_minutes=60)  # fmt: skip
        session.add(rule)
        session.flush()
        finding = Finding("machine:1/product:2", f"{name}: 1 unit of Kit A left in M-1", {"units": 1, "sku": "KIT-A"})
        observe(session, rule, [finding], utcnow())
        session.flush()  # the store's sessions do not autoflush: the notices it queued are not in the table yet
        alert_id = session.scalars(select(Alert.id).where(Alert.rule_id == rule.id)).one()
        notices = session.scalars(select(AlertNotification).where(AlertNotification.alert_id == alert_id)).all()
        for notice, status in zip(notices, ("sent", "failed"), strict=False):
            notice.status = status
    return alert_id


def _state(portal: Portal, alert_id: int) -> tuple[str, str | None]:
    with portal.store.read() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        return alert.status, alert.acknowledged_by


def _rules(portal: Portal) -> dict[str, AlertRule]:
    with portal.store.read() as session:
        return {r.name: r for r in session.scalars(select(AlertRule).where(AlertRule.deleted_at.is_(None)))}


def _errors(html: str) -> dict[str, str]:
    return dict(re.findall(r'class="field-error" id="err-([^"]+)"[^>]*>([^<]*)<', html))


# -- the alert log -----------------------------------------------------------------------------------------------
def test_the_alert_log_is_for_managers_and_changes_only_with_a_form_token(portal: Portal) -> None:
    alert_id = _alert(portal)
    anonymous = portal.client()
    for path in ("/portal/alerts", "/portal/alerts/rules", "/portal/alerts/rules/new"):  # not taken for a link token
        answer = anonymous.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/portal/sign-in"), path

    rep = portal.sign_in("sales_rep")
    mine = rep.get("/portal/my")
    assert 'href="/portal/alerts"' not in mine.text
    for path in ("/portal/alerts", "/portal/alerts/rules", "/portal/alerts/rules/new"):
        assert rep.get(path).status_code == 403, path
    assert rep.post(f"/portal/alerts/{alert_id}/acknowledge", data={"csrf": csrf_of(mine.text)}).status_code == 403
    assert _state(portal, alert_id) == ("open", None)

    manager = portal.sign_in("report_manager")
    page = manager.get("/portal/alerts")
    assert page.status_code == 200 and 'href="/portal/alerts"' in page.text
    assert "Low stock: 1 unit of Kit A left in M-1" in page.text and "sent: 1" in page.text and "failed: 1" in page.text
    assert SECRET not in page.text and 'href="/portal/alerts/rules"' not in page.text  # the rules are the admin's
    assert "Kit A" in manager.get("/portal/alerts", params={"status": "open", "kind": "low_stock"}).text
    assert "Kit A" not in manager.get("/portal/alerts", params={"status": "resolved"}).text
    assert "Kit A" not in manager.get("/portal/alerts", params={"kind": "metric"}).text

    # no token, another session's token: refused, nothing changes
    ack = f"/portal/alerts/{alert_id}/acknowledge"
    assert manager.post(ack, data={}).status_code == 403
    assert manager.post(ack, data={"csrf": "0" * 64}).status_code == 403
    assert manager.post(ack, data={"csrf": csrf_of(mine.text)}).status_code == 403
    assert _state(portal, alert_id) == ("open", None)
    answer = manager.post(ack, data={"csrf": csrf_of(page.text), "next": "/portal/alerts?status=acknowledged"})
    assert answer.status_code == 303 and answer.headers["location"] == "/portal/alerts?status=acknowledged"
    assert _state(portal, alert_id) == ("acknowledged", f"portal:{EMAILS['report_manager']}")
    shown = manager.get(answer.headers["location"])
    assert f"Alert {alert_id} acknowledged" in shown.text and f"portal:{EMAILS['report_manager']}" in shown.text
    manager.post(f"/portal/alerts/{alert_id}/resolve", data={"csrf": csrf_of(page.text)})
    assert _state(portal, alert_id)[0] == "resolved"

    # a report manager reads the log; the rules are not theirs to read or write
    with portal.store.read() as session:
        rule_id = session.scalars(select(AlertRule.id)).one()
    csrf = csrf_of(page.text)
    for path in ("/portal/alerts/rules", "/portal/alerts/rules/new", f"/portal/alerts/rules/{rule_id}/edit"):
        assert manager.get(path).status_code == 403, path
    body = {"csrf": csrf, "name": "Mine", "kind": "pin_lockout", "severity": "info", "webhooks": "https://x.test/"}
    assert manager.post("/portal/alerts/rules/new", data=body).status_code == 403
    assert manager.post(f"/portal/alerts/rules/{rule_id}/edit", data={**body, "name": "Low stock"}).status_code == 403
    for action in ("disable", "delete"):
        assert manager.post(f"/portal/alerts/rules/{rule_id}/{action}", data={"csrf": csrf}).status_code == 403
    rules = _rules(portal)
    assert list(rules) == ["Low stock"] and rules["Low stock"].enabled and rules["Low stock"].webhooks == [HOOK]

    # in Russian too
    manager.post("/portal/language", data={"csrf": csrf, "locale": "ru", "next": "/portal/alerts"})
    russian = manager.get("/portal/alerts").text
    assert "Оповещения" in russian and "закрыто" in russian and "Мало товара" in russian


# -- the rules -----------------------------------------------------------------------------------------------------
def test_an_admin_writes_rules_only_as_the_api_accepts_them(portal: Portal) -> None:
    admin = portal.sign_in("admin")
    page = admin.get("/portal/alerts/rules/new")
    assert page.status_code == 200 and 'name="params.metric.metric"' in page.text
    csrf = csrf_of(page.text)
    good = {"csrf": csrf, "name": "Guessing", "kind": "bad_credentials", "severity": "critical", "enabled": "on",
            "params.bad_credentials.threshold": "5", "emails": "Ops@Alerts.test,\nsecond@alerts.test",
            "webhooks": HOOK, "cooldown_minutes": "30", "remind_minutes": "0"}  # fmt: skip

    # the warehouse's HTTP interface as a webhook (server-side request forgery): refused at the field
    ssrf = "http://127.0.0.1:8123/?query=DROP%20TABLE%20marts.fct_sales"
    answer = admin.post("/portal/alerts/rules/new", data={**good, "webhooks": ssrf})
    assert answer.status_code == 422 and "loopback or private" in _errors(answer.text)["webhooks"]
    assert "DROP" not in answer.text  # named by its host only, and not written back into the form
    # parameters wrong for the kind, from the schema and from rule_before_write's metric check
    for wrong, field in (({"params.bad_credentials.threshold": "1"}, "params.bad_credentials.threshold"),
                         ({"params.bad_credentials.window_minutes": "ten"}, "params.bad_credentials.window_minutes"),
                         ({"kind": "metric", "params.metric.metric": "no.such", "params.metric.condition": "above",
                           "params.metric.threshold": "1"}, "params.metric.metric"),
                         ({"kind": "machine_offline", "params.machine_offline.open_hours": "7-21"},
                          "params.machine_offline.open_hours"),
                         ({"emails": "not-an-address"}, "emails"),
                         ({"remind_minutes": "-5"}, "remind_minutes")):  # fmt: skip
        answer = admin.post("/portal/alerts/rules/new", data={**good, **wrong})
        assert answer.status_code == 422 and field in _errors(answer.text), (wrong, _errors(answer.text))
    assert admin.post("/portal/alerts/rules/new", data={**good, "csrf": ""}).status_code == 403
    assert admin.post("/portal/alerts/rules/new", data={**good, "csrf": "f" * 64}).status_code == 403
    assert _rules(portal) == {}

    answer = admin.post("/portal/alerts/rules/new", data=good)
    assert answer.status_code == 303 and answer.headers["location"] == "/portal/alerts/rules"
    rule = _rules(portal)["Guessing"]
    assert rule.params == {"window_minutes": 10, "threshold": 5}  # the kind's default filled in, typed
    assert rule.emails == [OWNER, "second@alerts.test"] and rule.webhooks == [HOOK]
    assert (rule.enabled, rule.cooldown_minutes, rule.remind_minutes) == (True, 30, 0)
    assert "name" in _errors(admin.post("/portal/alerts/rules/new", data=good).text)  # names are unique

    listing = admin.get("/portal/alerts/rules").text
    edit = f"/portal/alerts/rules/{rule.id}/edit"
    form = admin.get(edit).text
    for html in (listing, form, admin.get("/portal/alerts").text):
        assert SECRET not in html
    assert "https://hooks.example.com/…" in listing and "https://hooks.example.com/…" in form

    # webhooks are write-only: blank keeps them, new ones replace them, `clear` removes them
    good["params.bad_credentials.threshold"] = "7"
    admin.post(edit, data={**good, "webhooks": ""})
    rule = _rules(portal)["Guessing"]
    assert rule.webhooks == [HOOK] and rule.params["threshold"] == 7
    admin.post(edit, data={**good, "webhooks": "https://other.example.com/new"})
    assert _rules(portal)["Guessing"].webhooks == ["https://other.example.com/new"]
    admin.post(edit, data={**good, "webhooks": "", "clear_webhooks": "1"})
    assert _rules(portal)["Guessing"].webhooks == []
    answer = admin.post(edit, data={**good, "webhooks": "", "params.bad_credentials.threshold": "0"})
    assert answer.status_code == 422 and _rules(portal)["Guessing"].params["threshold"] == 7

    for action, enabled in (("disable", False), ("enable", True)):
        assert admin.post(f"/portal/alerts/rules/{rule.id}/{action}", data={"csrf": csrf}).status_code == 303
        assert _rules(portal)["Guessing"].enabled is enabled
    assert admin.post(f"/portal/alerts/rules/{rule.id}/delete", data={}).status_code == 403
    assert admin.post(f"/portal/alerts/rules/{rule.id}/delete", data={"csrf": csrf}).status_code == 303
    assert _rules(portal) == {} and "Guessing" not in admin.get("/portal/alerts/rules").text
    assert admin.get(edit).status_code == 404


# -- the link in every notice ------------------------------------------------------------------------------------
def _link(portal: Portal, alert_id: int, recipient: str) -> str:
    return f"/portal/alerts/{make_alert_token(signing_key(portal.settings), alert_id, recipient)}"


def test_the_alert_link_shows_without_changing_and_acts_with_its_form(portal: Portal) -> None:
    alert_id = _alert(portal)
    link = _link(portal, alert_id, OWNER)
    client = portal.client()
    for _ in range(2):  # a mail scanner fetches every link: reading changes nothing
        page = client.get(link)
        assert page.status_code == 200 and "Low stock: 1 unit of Kit A left in M-1" in page.text
        assert "KIT-A" in page.text and SECRET not in page.text and f"Sent to {OWNER}" in page.text
    assert _state(portal, alert_id) == ("open", None)

    other = _alert(portal, "Machine stock", webhooks=())
    other_link = _link(portal, other, "webhook")
    other_form = csrf_of(client.get(other_link).text)
    for data in ({"action": "acknowledge"}, {"action": "acknowledge", "csrf": other_form}):  # none; another link's
        assert client.post(link, data=data).status_code == 403
    assert client.post(link, data={"action": "delete", "csrf": csrf_of(page.text)}).status_code == 422
    assert _state(portal, alert_id) == ("open", None)
    answer = client.post(link, data={"action": "acknowledge", "csrf": csrf_of(page.text)})
    assert answer.status_code == 303 and answer.headers["location"] == link
    assert _state(portal, alert_id) == ("acknowledged", OWNER)  # the link's recipient, not anybody's word
    assert client.post(other_link, data={"action": "resolve", "csrf": other_form}).status_code == 303
    assert _state(portal, other) == ("resolved", "webhook")
    assert "nothing to do" in client.get(other_link).text

    # links that are not an alert's link: refused before anything is read, nothing changes
    key, token = signing_key(portal.settings), link.rsplit("/", 1)[1]
    payload, mac = token.split(".")
    swapped = base64.urlsafe_b64encode(f"{other}:{OWNER}".encode()).decode().rstrip("=")
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    bad = {
        "forged": make_alert_token(b"another-key", other, OWNER),
        "altered": f"{swapped}.{mac}",
        "truncated": token[:-3],
        "unsubscribe": make_token(key, other, OWNER),
        "recipient page": make_recipient_token(key, OWNER, expires),
        "no dot": payload,
    }
    with portal.store.write() as session:  # reopen the second alert: a refused link must not close it again
        reopened = session.get(Alert, other)
        assert reopened is not None
        reopened.status, reopened.acknowledged_by = "open", None
    for damage, forged in bad.items():
        answer = client.get(f"/portal/alerts/{forged}")
        assert answer.status_code == 400 and "This link is not valid" in answer.text, damage
        assert OWNER not in answer.text and "Kit A" not in answer.text, damage
        posted = client.post(f"/portal/alerts/{forged}", data={"action": "resolve", "csrf": other_form})
        assert posted.status_code == 400, damage
    assert _state(portal, other) == ("open", None)
    assert client.get(_link(portal, 10_000, OWNER)).status_code == 404  # signed, yet no such alert
