"""Report subscriptions through the operational API: admin keys only; cron, time zone and the recipient
query are checked with a clear 422 (the query by the warehouse itself, as the read-only user); the
public unsubscribe link records the unsubscribe and refuses forged tokens."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from operational_api.app import create_app
from operational_api.db import Store
from operational_api.models import ReportUnsubscribe
from operational_api.services.recipient_queries import RecipientQueryError, check_statement
from operational_api.unsubscribe import UNSUBSCRIBE, _b64, _mac, make_token, signing_key
from pulse.core.settings import Settings
from tests.operational_api.factories import keys_for_every_scope
from tests.reports.delivery_env import CUSTOMERS_QUERY, ReportsEnv

pytestmark = pytest.mark.xdist_group("reports")


class Api:
    def __init__(self, client: TestClient, keys: dict[str, str]) -> None:
        self.client = client
        self.keys = keys

    def post(self, body: dict[str, Any], scope: str = "admin") -> Any:
        return self.client.post("/v1/report-subscriptions", json=body, headers=self.auth(scope))

    def auth(self, scope: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[scope]}"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """One app for the module (building one costs a while); each test points it at its own store."""
    home = tmp_path_factory.mktemp("api-app")
    url = f"sqlite:///{home / 'unused.db'}"
    return create_app(store=Store(url), settings=Settings(home=home, ops_database_url=url))


@pytest.fixture
def api(app: FastAPI, reports_env: ReportsEnv) -> Iterator[Api]:
    with reports_env.store.write() as session:
        keys = keys_for_every_scope(session)
    app.state.store = reports_env.store  # routes read the store's settings: the test's warehouse and keys
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, keys)


def body(**values: Any) -> dict[str, Any]:
    return {
        "name": "customers",
        "report_kind": "customer_statement",
        "cron": "0 8 1 * *",
        "time_zone": "Europe/Moscow",
        "recipient_query": CUSTOMERS_QUERY.format(limit=5),
        **values,
    }


def reasons(response: Any, field: str) -> list[str]:
    assert response.status_code == 422, response.text
    fields = response.json()["error"]["fields"]
    return [f["reason"] for f in fields if f["loc"][-1] == field]


def test_create_list_patch_delete(api: Api) -> None:
    created = api.post(body(description="monthly statements"))
    assert created.status_code == 201, created.text
    sub = created.json()
    assert sub["report_kind"] == "customer_statement" and sub["enabled"] and sub["format"] == "pdf"
    assert sub["next_fire_at"].endswith("+03:00")  # in the subscription's zone (Moscow)
    assert sub["last_fired_at"] is None and sub["change_seq"] > 0
    assert api.post(body()).status_code == 409  # names are unique

    listed = api.client.get("/v1/report-subscriptions", headers=api.auth()).json()
    assert [s["name"] for s in listed["items"]] == ["customers"]

    # Disabling needs no warehouse check and stops the schedule.
    patched = api.client.patch(f"/v1/report-subscriptions/{sub['id']}", json={"enabled": False}, headers=api.auth())
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    assert patched.json()["next_fire_at"] is None and patched.json()["change_seq"] > sub["change_seq"]
    bad_query = api.client.patch(
        f"/v1/report-subscriptions/{sub['id']}", json={"recipient_query": "SELECT 1 AS email"}, headers=api.auth()
    )
    assert any("lacks the column(s) locale, customer_id" in r for r in reasons(bad_query, "recipient_query"))

    deliveries = api.client.get(f"/v1/report-subscriptions/{sub['id']}/deliveries", headers=api.auth())
    assert deliveries.status_code == 200 and deliveries.json()["items"] == []

    assert api.client.delete(f"/v1/report-subscriptions/{sub['id']}", headers=api.auth()).status_code == 204
    assert api.client.get(f"/v1/report-subscriptions/{sub['id']}", headers=api.auth()).status_code == 404
    everything = api.client.get("/v1/report-subscriptions?include_deleted=true", headers=api.auth()).json()
    assert everything["items"][0]["deleted_at"] is not None  # a tombstone, not a deletion


def test_only_admin_keys_manage_subscriptions(api: Api) -> None:
    assert api.client.get("/v1/report-subscriptions").status_code == 401
    for scope in ("machine", "portal", "operator", "integration"):
        assert api.post(body(), scope=scope).status_code == 403
        assert api.client.get("/v1/report-subscriptions", headers=api.auth(scope)).status_code == 403


@pytest.mark.parametrize(
    ("cron", "reason"),
    [
        ("0 7 1 *", "must have five fields"),
        ("61 * * * *", "is not a valid cron expression"),
        ("0 0 31 2 *", "never fires"),
        ("* * * * * *", "must have five fields"),
    ],
)
def test_bad_cron_is_a_422_saying_why(api: Api, cron: str, reason: str) -> None:
    assert any(reason in r for r in reasons(api.post(body(cron=cron)), "cron"))


def test_bad_time_zone_is_a_422(api: Api) -> None:
    assert any("is not an IANA time zone" in r for r in reasons(api.post(body(time_zone="Mars/Olympus")), "time_zone"))
    assert reasons(api.post(body(time_zone="../../etc/passwd")), "time_zone")


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("SELECT customer_id, email, locale FROM marts.no_such_table", "UNKNOWN_TABLE"),
        ("SELEC customer_id", "must be one SELECT"),
        ("SELECT customer_id, email, locale FROM marts.dim_customers; SELECT 1", "not one SQL statement"),
        ("DROP TABLE marts.dim_customers", "must be one SELECT (or WITH ... SELECT) statement, not DROP"),
        ("INSERT INTO marts.dim_customers SELECT * FROM marts.dim_customers", "not INSERT"),
        ("SELECT customer_id, email FROM marts.dim_customers", "lacks the column(s) locale"),
        ("SELECT customer_id, email, locale, 1 AS bonus FROM marts.dim_customers", "unknown column(s) bonus"),
        ("SELECT customer_id, email, locale FROM marts.dim_customers FORMAT JSON", "must not name an output format"),
        # An admin's recipient query still runs as pulse_reader: no file, service or store outside the marts.
        (
            "SELECT line AS customer_id, 'a@b.c' AS email, 'ru' AS locale FROM file('/etc/passwd', 'LineAsString')",
            "Not enough privileges: table function file()",
        ),
        (
            "SELECT id AS customer_id, email, 'ru' AS locale FROM sqlite('ops.db', 'customers')",
            "Not enough privileges: table function sqlite()",
        ),
        (
            "SELECT toUInt64(1) AS customer_id, s AS email, 'ru' AS locale FROM url('http://127.0.0.1:9/', 'RawBLOB', 's String')",
            "Not enough privileges: table function url()",
        ),
        (
            "SELECT customer_id, email, locale FROM raw.customers",
            "Not enough privileges: no grant to read raw.customers",
        ),
    ],
)
def test_bad_recipient_query_is_a_422_saying_why(api: Api, query: str, reason: str) -> None:
    response = api.post(body(recipient_query=query))
    assert any(reason in r for r in reasons(response, "recipient_query")), response.text
    assert api.client.get("/v1/report-subscriptions", headers=api.auth()).json()["items"] == []


def test_warehouse_down_is_a_503_and_nothing_is_stored(api: Api, reports_env: ReportsEnv) -> None:
    reports_env.store.settings = reports_env.settings.model_copy(
        update={"clickhouse_url": "http://default:@127.0.0.1:9"}
    )
    try:
        response = api.post(body())
    finally:
        reports_env.store.settings = reports_env.settings
    assert response.status_code == 503 and "cannot check the recipient query now" in response.text
    assert api.client.get("/v1/report-subscriptions", headers=api.auth()).json()["items"] == []


def test_unsubscribe_link_is_public_idempotent_and_unforgeable(api: Api, reports_env: ReportsEnv) -> None:
    sub = api.post(body()).json()
    token = make_token(signing_key(reports_env.settings), sub["id"], "Anna@Example.ru")
    page = api.client.get(f"/v1/unsubscribe/{token}")  # no API key: the signed token is the authority
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "anna@example.ru" in page.text and '<form method="post"' in page.text
    with reports_env.store.read() as session:  # a mail scanner following the link unsubscribes nobody
        assert session.execute(select(ReportUnsubscribe.id)).all() == []
    done = api.client.post(f"/v1/unsubscribe/{token}")  # the confirm button, and RFC 8058 one-click
    assert done.status_code == 200 and "customers" in done.text
    assert api.client.post(f"/v1/unsubscribe/{token}").status_code == 200  # again: no-op
    with reports_env.store.read() as session:
        rows = session.execute(select(ReportUnsubscribe.subscription_id, ReportUnsubscribe.email)).all()
    assert rows == [(sub["id"], "anna@example.ru")]

    payload, mac = token.split(".")
    other = make_token(b"another server's key", sub["id"], "boris@example.ru")
    # A payload signed with the right key but not of our shape (`abc:x`) is a bad link, not a server error.
    key = signing_key(reports_env.settings)
    odd = f"{_b64(b'abc:x')}.{_b64(_mac(key, UNSUBSCRIBE, b'abc:x'))}"
    for forged in (
        f"{payload}.{mac[:-2]}AA",
        other,
        f"{make_token(b'x', 1, 'a@b').split('.')[0]}.{mac}",
        "nonsense",
        odd,
    ):
        for method in ("GET", "POST"):
            refused = api.client.request(method, f"/v1/unsubscribe/{forged}")
            assert refused.status_code == 400, (method, forged)
            assert "not valid" in refused.text or "not an unsubscribe link" in refused.text
    unknown = make_token(signing_key(reports_env.settings), 999_999, "anna@example.ru")
    assert api.client.post(f"/v1/unsubscribe/{unknown}").status_code == 404
    with reports_env.store.read() as session:
        assert len(session.execute(select(ReportUnsubscribe.id)).all()) == 1


def test_recipient_query_is_split_as_the_warehouse_splits_it() -> None:
    """Non-ASCII text keeps its bytes, a trailing no-break space is a blank (as ClickHouse's lexer has it), and a
    second statement behind one is still refused."""
    assert check_statement("SELECT 'ü€' AS email;\u00a0") == "SELECT 'ü€' AS email"
    with pytest.raises(RecipientQueryError, match="not one SQL statement"):
        check_statement("SELECT 1;\u00a0SELECT 2")
