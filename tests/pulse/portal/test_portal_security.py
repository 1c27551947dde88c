"""The portal probed as an attacker would: every request below is one somebody could send, against the running
process (`pulse portal serve`), its real store and warehouse. Each must be refused, and leave nothing behind."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from operational_api.models import PortalSession, ReportDelivery, ReportSubscription
from operational_api.unsubscribe import make_recipient_token, signing_key
from tests.pulse.portal.conftest import EMAILS, PASSWORDS, Portal, csrf_of
from tests.reports.conftest import PERIOD
from tests.reports.pdf_text import pages_text

pytestmark = [pytest.mark.xdist_group("portal"), pytest.mark.timeout(900)]


def _subscription(portal: Portal, name: str = "customers", limit: int = 3) -> int:
    return portal.subscribe(name, limit=limit).id


def _deliveries(portal: Portal, sub_id: int) -> list[ReportDelivery]:
    with portal.store.read() as session:
        return list(session.scalars(select(ReportDelivery).where(ReportDelivery.subscription_id == sub_id)))


def _sign_in_form(client: httpx.Client) -> str:
    page = client.get("/portal/sign-in")
    match = re.search(r'name="nonce" value="([^"]+)"', page.text)
    assert match is not None
    return match[1]


# -- staff sign-in ---------------------------------------------------------------------------------------------
def test_pages_need_a_session_and_the_right_role(portal: Portal) -> None:
    sub_id = _subscription(portal)
    anonymous = portal.client()
    for path in ("/portal/subscriptions", f"/portal/subscriptions/{sub_id}", "/portal/subscriptions/new",
                 f"/portal/subscriptions/{sub_id}/preview.pdf?recipient=x", "/portal/my"):  # fmt: skip
        answer = anonymous.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/portal/sign-in"), path
    rep = portal.sign_in("sales_rep")
    for path in ("/portal/subscriptions", f"/portal/subscriptions/{sub_id}", f"/portal/subscriptions/{sub_id}/edit",
                 f"/portal/subscriptions/{sub_id}/preview.pdf?recipient=x"):  # fmt: skip
        assert rep.get(path).status_code == 403, path
    page = rep.get("/portal/my")
    assert page.status_code == 200
    answer = rep.post(f"/portal/subscriptions/{sub_id}/send", data={"csrf": csrf_of(page.text), "period": PERIOD})
    assert answer.status_code == 403
    assert not _deliveries(portal, sub_id)


def test_a_sales_rep_sees_only_their_territory_and_statement(portal: Portal, tmp_path: Path) -> None:
    client = portal.env.warehouse.client()
    others = client.query(
        "SELECT sales_rep_id, name FROM marts.dim_sales_reps WHERE sales_rep_id != {rep:Int64} AND hospitals > 0",
        parameters={"rep": portal.rep["id"]},
    ).result_rows
    assert others, "the simulated business has one sales rep only: nothing to keep apart"
    codes = dict(client.query("SELECT hospital_id, hospital_code FROM marts.dim_hospitals").result_rows)
    rep = portal.sign_in("sales_rep")
    page = rep.get("/portal/my").text
    shown = {hospital for hospital, code in codes.items() if f"{code} — " in page}
    assert shown == set(portal.rep["hospitals"])
    # the id is the signed-in user's: a parameter naming another rep changes nothing
    other_id, other_name = others[0]
    pdf = rep.get("/portal/my/statement.pdf", params={"period": PERIOD, "sales_rep_id": other_id})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    (tmp_path / "statement.pdf").write_bytes(pdf.content)
    text = " ".join(pages_text(tmp_path / "statement.pdf"))
    assert portal.rep["name"] in text and other_name not in text


def _try(client: httpx.Client, email: str, password: str) -> httpx.Response:
    return client.post("/portal/sign-in", data={"nonce": _sign_in_form(client), "email": email, "password": password})


def test_sign_in_refuses_guessing_without_locking_others_out(portal: Portal) -> None:
    client = portal.client()
    attempts = portal.settings.portal_sign_in_attempts
    for _ in range(attempts):
        wrong = _try(client, EMAILS["admin"], "guess-1234567")
        assert wrong.status_code == 401 and "Wrong email or password" in wrong.text
    right = _try(client, EMAILS["admin"], PASSWORDS["admin"])
    assert right.status_code == 429 and "Too many failed attempts" in right.text
    assert "pulse_session" not in right.cookies
    # guessing at one account does not lock the others out, not even from the same address
    assert _try(portal.client(), EMAILS["report_manager"], PASSWORDS["report_manager"]).status_code == 303
    # spraying many accounts from one address locks the address
    for n in range(attempts * 4 - attempts):
        assert _try(client, f"user{n}@portal.test", "guess-1234567").status_code == 401
    assert _try(client, EMAILS["report_manager"], PASSWORDS["report_manager"]).status_code == 429


def test_an_unknown_address_is_answered_like_a_wrong_password(portal: Portal) -> None:
    client = portal.client()
    nonce = _sign_in_form(client)
    unknown = client.post("/portal/sign-in", data={"nonce": nonce, "email": "nobody@x.test", "password": "x" * 12})
    nonce = _sign_in_form(client)
    wrong = client.post("/portal/sign-in", data={"nonce": nonce, "email": EMAILS["admin"], "password": "x" * 12})
    assert unknown.status_code == wrong.status_code == 401
    assert re.sub(r'value="[^"]*"', "", unknown.text).replace("nobody@x.test", "") == re.sub(
        r'value="[^"]*"', "", wrong.text).replace(EMAILS["admin"], "")  # fmt: skip


def test_csrf_is_refused(portal: Portal) -> None:
    sub_id = _subscription(portal)
    manager = portal.sign_in("report_manager")
    for data in ({"period": PERIOD}, {"period": PERIOD, "csrf": "0" * 64}):
        answer = manager.post(f"/portal/subscriptions/{sub_id}/send", data=data)
        assert answer.status_code == 403
    assert manager.post(f"/portal/subscriptions/{sub_id}/delete", data={}).status_code == 403
    # a sign-in form posted from another site has no matching nonce cookie
    outsider = portal.client()
    forged = outsider.post("/portal/sign-in", data={"nonce": "x", "email": EMAILS["admin"],
                                                    "password": PASSWORDS["admin"]})  # fmt: skip
    assert forged.status_code == 403 and "pulse_session" not in forged.cookies
    assert not _deliveries(portal, sub_id)
    with portal.store.read() as session:
        assert session.get(ReportSubscription, sub_id).deleted_at is None  # type: ignore[union-attr]


def test_sessions_end_when_idle_and_at_sign_out(portal: Portal) -> None:
    manager = portal.sign_in("report_manager")
    assert manager.get("/portal/subscriptions").status_code == 200
    with portal.store.write() as session:
        idle = dt.timedelta(minutes=portal.settings.portal_session_idle_minutes + 1)
        session.execute(update(PortalSession).values(last_seen_at=dt.datetime.now(dt.UTC) - idle))
    assert manager.get("/portal/subscriptions").status_code == 303
    again = portal.sign_in("report_manager")
    page = again.get("/portal/subscriptions")
    token = again.cookies["pulse_session"]
    assert again.post("/portal/sign-out", data={"csrf": csrf_of(page.text)}).status_code == 303
    stolen = portal.client()  # the cookie, kept by someone after sign-out, opens nothing
    stolen.cookies.set("pulse_session", token, path="/portal")
    assert stolen.get("/portal/subscriptions").status_code == 303


def test_sign_in_never_redirects_off_site(portal: Portal) -> None:
    client = portal.client()
    for target in ("//evil.test/x", "https://evil.test/", "/portal/\\evil.test", "/elsewhere"):
        client.get("/portal/sign-in", params={"next": target})
        nonce = _sign_in_form(client)
        answer = client.post("/portal/sign-in", data={"nonce": nonce, "email": EMAILS["admin"],
                                                      "password": PASSWORDS["admin"], "next": target})  # fmt: skip
        assert answer.headers["location"] == "/portal/", target


# -- forms -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"frequency": "monthly", "day": "31"}, "day", "1 to 28"),
        ({"frequency": "weekly", "time": "25:00"}, "time", "HH:MM"),
        ({"frequency": "cron", "cron": "61 * * * *"}, "cron", "not a valid cron"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "not an IANA time zone"),
        (
            {"preset": "hospital_contacts", "report_kind": "hospital_statement", "hospital_ids": "1; DROP TABLE x"},
            "hospital_ids",
            "whole numbers",
        ),
        (
            {"preset": "static_list", "report_kind": "executive_weekly", "recipients": "not-an-address, en, X"},
            "recipients",
            "not an email address",
        ),
        ({"preset": "custom", "recipient_query": "SELECT 1"}, "recipient_query", "email"),
        ({"preset": "custom", "recipient_query": "DROP TABLE marts.dim_customers"}, "recipient_query", "SELECT"),
        ({"preset": "consenting_customers", "report_kind": "hospital_statement"}, "preset", "cannot address"),
        ({"name": ""}, "name", "1 to 200"),
        ({"description": "x" * 1001}, "description", "at most 1000"),
        ({"description": "nul\x00byte"}, "description", "no NUL"),
        (
            {"preset": "static_list", "report_kind": "executive_weekly", "recipients": "a@b.test, en, A\n" * 501},
            "recipients",
            "listed twice",
        ),
        (
            {
                "preset": "static_list",
                "report_kind": "executive_weekly",
                "recipients": "".join(f"a{n}@b.test, en, A\n" for n in range(501)),
            },
            "recipients",
            "at most 500",
        ),
    ],
)
def test_every_form_field_says_what_is_wrong(portal: Portal, fields: dict[str, str], field: str, reason: str) -> None:
    manager = portal.sign_in("report_manager")
    page = manager.get("/portal/subscriptions/new")
    data = {"csrf": csrf_of(page.text), "action": "save", "name": "x", "report_kind": "customer_statement",
            "preset": "consenting_customers", "frequency": "monthly", "day": "1", "weekday": "mon", "time": "07:00",
            "time_zone": "UTC", **fields}  # fmt: skip
    answer = manager.post("/portal/subscriptions/new", data=data)
    assert answer.status_code == 422
    error = re.search(rf'<span class="field-error" id="err-{field}" role="alert">([^<]*)</span>', answer.text)
    assert error is not None and reason in error[1], answer.text[-3000:]
    assert f'aria-describedby="err-{field}"' in answer.text
    with portal.store.read() as session:
        assert session.scalars(select(ReportSubscription)).first() is None  # nothing half-written


def test_a_second_subscription_of_the_same_name_is_refused_next_to_the_name(portal: Portal) -> None:
    portal.subscribe("customers", limit=1)
    manager = portal.sign_in("report_manager")
    page = manager.get("/portal/subscriptions/new")
    data = {"csrf": csrf_of(page.text), "action": "save", "name": "customers", "report_kind": "customer_statement",
            "preset": "consenting_customers", "frequency": "monthly", "day": "1", "time": "07:00", "time_zone": "UTC"}  # fmt: skip
    answer = manager.post("/portal/subscriptions/new", data=data)
    assert answer.status_code == 422
    assert re.search(r'id="err-name" role="alert">already used<', answer.text)
    with portal.store.read() as session:
        assert len(session.scalars(select(ReportSubscription)).all()) == 1


def test_a_bad_period_is_refused_next_to_the_send_form(portal: Portal) -> None:
    sub_id = _subscription(portal)
    manager = portal.sign_in("report_manager")
    page = manager.get(f"/portal/subscriptions/{sub_id}")
    answer = manager.post(
        f"/portal/subscriptions/{sub_id}/send", data={"csrf": csrf_of(page.text), "period": "2026-13"}
    )
    assert answer.status_code == 422
    assert re.search(r'id="err-send_period" role="alert">[^<]*is not a month', answer.text)
    assert not _deliveries(portal, sub_id)


def test_a_static_list_cannot_become_sql(portal: Portal) -> None:
    manager = portal.sign_in("report_manager")
    page = manager.get("/portal/subscriptions/new")
    name = "O'Brien \\' UNION SELECT 'x@evil.test', 'en', 'x' --"
    data = {"csrf": csrf_of(page.text), "action": "save", "name": "execs", "report_kind": "executive_weekly",
            "preset": "static_list", "recipients": f"ceo@corp.test, en, {name.replace(',', ' ')}",
            "frequency": "weekly", "weekday": "mon", "time": "08:00", "time_zone": "UTC"}  # fmt: skip
    assert manager.post("/portal/subscriptions/new", data=data).status_code == 303
    with portal.store.read() as session:
        sub = session.scalars(select(ReportSubscription).where(ReportSubscription.name == "execs")).one()
    rows = portal.env.warehouse.client().query(sub.recipient_query).result_rows
    assert rows == [("ceo@corp.test", "en", name.replace(",", " "))]


# -- recipients' links -----------------------------------------------------------------------------------------
def _sent(portal: Portal) -> tuple[int, list[ReportDelivery]]:
    sub_id = _subscription(portal)
    manager = portal.sign_in("report_manager")
    page = manager.get(f"/portal/subscriptions/{sub_id}")
    manager.post(f"/portal/subscriptions/{sub_id}/send", data={"csrf": csrf_of(page.text), "period": PERIOD})
    return sub_id, _deliveries(portal, sub_id)


def _link(portal: Portal, email: str, expires: dt.datetime | None = None) -> str:
    expires = expires or dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    return f"/portal/me/{make_recipient_token(signing_key(portal.settings), email, expires)}"


def test_a_recipient_link_shows_only_its_recipient(portal: Portal) -> None:
    _, sent = _sent(portal)
    first, second = sent[0].email, sent[1].email
    client = portal.client()
    link = _link(portal, first)  # one link: its form token is bound to it, and a second one may expire a second later
    page = client.get(link)
    assert page.status_code == 200 and first in page.text and second not in page.text
    # the subscription list of another recipient is not reachable by changing a form field either
    other_sub = _subscription(portal, "other", limit=1)
    answer = client.post(link, data={"csrf": csrf_of(page.text), "action": "unsubscribe",
                                     "subscription": str(other_sub + 1000)})  # fmt: skip
    assert answer.status_code == 404


@pytest.mark.parametrize("damage", ["forged", "altered", "expired", "truncated", "unsubscribe token"])
def test_a_bad_recipient_link_is_refused(portal: Portal, damage: str) -> None:
    _, sent = _sent(portal)
    email = sent[0].email
    good = _link(portal, email)
    token = good.rsplit("/", 1)[1]
    if damage == "forged":
        bad = f"/portal/me/{make_recipient_token(b'another-key', email, dt.datetime.now(dt.UTC) + dt.timedelta(1))}"
    elif damage == "altered":
        payload, mac = token.split(".")
        bad = f"/portal/me/{payload[:-2]}{'AA' if payload[-2:] != 'AA' else 'BB'}.{mac}"
    elif damage == "expired":
        bad = _link(portal, email, dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    elif damage == "truncated":
        bad = good[:-4]
    else:  # a genuine unsubscribe token is not a key to the page
        from operational_api.unsubscribe import make_token

        bad = f"/portal/me/{make_token(signing_key(portal.settings), sent[0].subscription_id, email)}"
    client = portal.client()
    answer = client.get(bad)
    assert answer.status_code == 400 and email not in answer.text
    assert client.post(bad, data={"action": "locale", "locale": "ru"}).status_code == 400


def test_a_recipient_page_post_needs_its_csrf_token(portal: Portal) -> None:
    sub_id, sent = _sent(portal)
    link = _link(portal, sent[0].email)
    client = portal.client()
    answer = client.post(link, data={"action": "unsubscribe", "subscription": str(sub_id)})
    assert answer.status_code == 403
    assert 'value="unsubscribe"' in client.get(link).text  # still subscribed


# -- the API does the same, for admin keys only ----------------------------------------------------------------
def test_the_report_actions_are_in_the_api_for_admin_keys(portal: Portal) -> None:
    from operational_api.services.keys import create_api_key

    sub_id = _subscription(portal)
    with portal.store.write() as session:
        admin = create_api_key(session, name="ops", scope="admin")
        integration = create_api_key(session, name="crm", scope="integration")
    client = portal.client()
    denied = client.post(f"/v1/report-subscriptions/{sub_id}/send", json={"period": PERIOD},
                         headers={"Authorization": f"Bearer {integration}"})  # fmt: skip
    assert denied.status_code == 403 and not _deliveries(portal, sub_id)
    auth = {"Authorization": f"Bearer {admin}"}
    people = client.get(f"/v1/report-subscriptions/{sub_id}/recipients", headers=auth).json()
    assert people["count"] == 3
    pdf = client.get(f"/v1/report-subscriptions/{sub_id}/preview.pdf", headers=auth,
                     params={"recipient": people["items"][0]["key"], "period": PERIOD})  # fmt: skip
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    first = client.post(f"/v1/report-subscriptions/{sub_id}/send", json={"period": PERIOD}, headers=auth).json()
    again = client.post(f"/v1/report-subscriptions/{sub_id}/send", json={"period": PERIOD}, headers=auth).json()
    assert (first["added"], first["states"]) == (3, {"sent": 3})
    assert (again["added"], again["states"]) == (0, {})  # a backfill repeated sends nothing twice
    one = client.post(f"/v1/report-subscriptions/{sub_id}/send", headers=auth,
                      json={"period": "2026-02", "email": people["items"][0]["email"]}).json()  # fmt: skip
    assert one["states"] == {"sent": 1}
    assert len(_deliveries(portal, sub_id)) == 4
    for period in ("2026-13", "2099-01"):  # not a month; a month not over yet (its statement would be partial)
        bad = client.post(f"/v1/report-subscriptions/{sub_id}/send", json={"period": period}, headers=auth)
        assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["loc"] == ["body", "period"]
    assert len(_deliveries(portal, sub_id)) == 4


def test_the_api_writes_the_query_of_an_audience_preset(portal: Portal) -> None:
    from operational_api.services.keys import create_api_key

    with portal.store.write() as session:
        admin = create_api_key(session, name="ops", scope="admin")
    client, auth = portal.client(), {"Authorization": f"Bearer {admin}"}
    body = {"name": "wards", "report_kind": "hospital_statement", "cron": "0 7 1 * *", "time_zone": "UTC",
            "audience": {"preset": "hospital_contacts", "hospital_ids": [2, 1, 2]}}  # fmt: skip
    created = client.post("/v1/report-subscriptions", json=body, headers=auth)
    assert created.status_code == 201, created.text
    assert created.json()["audience"] == {"preset": "hospital_contacts", "hospital_ids": [1, 2]}
    assert "contacts.hospital_id IN (1, 2)" in created.json()["recipient_query"]
    both = client.post("/v1/report-subscriptions", headers=auth,
                       json={**body, "name": "x", "recipient_query": "SELECT 1"})  # fmt: skip
    assert both.status_code == 422 and both.json()["error"]["fields"][0]["loc"] == ["body", "recipient_query"]
    wrong = client.post("/v1/report-subscriptions", headers=auth,
                        json={**body, "name": "y", "report_kind": "customer_statement"})  # fmt: skip
    assert wrong.status_code == 422 and wrong.json()["error"]["fields"][0]["loc"] == ["body", "audience", "preset"]
