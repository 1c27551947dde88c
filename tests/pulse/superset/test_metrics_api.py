"""`GET /v1/metrics` and `/v1/metrics/{name}` on the operational API, answered from the stack's warehouse (its
marts built) as the read-only user, or for a hospital key as its hospital's identity; each refusal as the request
an integrator, or a hospital after another hospital's numbers, would send."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from operational_api.app import create_app
from operational_api.db import Store
from operational_api.models import Hospital
from operational_api.services.common import Invalid, NotFound
from operational_api.services.keys import create_api_key
from tests.pulse.superset.conftest import Imported, SupersetStack

pytestmark = [pytest.mark.superset, pytest.mark.xdist_group("superset")]


@pytest.fixture(scope="module")
def api(superset_stack: SupersetStack) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    settings = superset_stack.settings
    store = Store(settings.ops_database_url, settings=settings)
    keys = {}
    with store.write() as session:
        for scope in ("integration", "machine", "admin"):
            keys[scope] = {"Authorization": f"Bearer {create_api_key(session, name=f'metrics-{scope}', scope=scope)}"}
        h001 = session.execute(select(Hospital.id).where(Hospital.code == "H001")).scalar_one()
        token = create_api_key(session, name="metrics-h001", scope="hospital", hospital_id=h001)
        keys["H001"] = {"Authorization": f"Bearer {token}"}
        # A hospital key names its hospital, an existing one; no other key names one.
        for scope, hospital_id, error_type in (
            ("hospital", None, Invalid), ("integration", h001, Invalid), ("hospital", 10**9, NotFound),
        ):  # fmt: skip
            with pytest.raises(error_type):
                create_api_key(session, name="bad", scope=scope, hospital_id=hospital_id)
    with TestClient(create_app(store=store, settings=settings), raise_server_exceptions=False) as client:
        yield client, keys
    store.dispose()


def error(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def test_integrators_list_and_query_metrics(
    superset_stack: SupersetStack, imported: Imported, api: tuple[TestClient, dict[str, dict[str, str]]]
) -> None:
    client, keys = api
    listed = client.get("/v1/metrics", headers=keys["integration"])
    assert listed.status_code == 200
    rate = next(m for m in listed.json() if m["key"] == "mart_hospital_commissions_monthly.effective_commission_rate")
    assert rate["unit"] == "ratio" and rate["time_dimension"] == "sales_month" and "hospital_code" in rate["dimensions"]
    warehouse = superset_stack.warehouse_client()
    [[month]] = warehouse.query("SELECT max(sales_month) FROM marts.mart_hospital_commissions_monthly").result_rows
    expected = {
        code: (commission, net)
        for code, commission, net in warehouse.query(
            "SELECT hospital_code, sum(commission_reporting), sum(net_sales_reporting) FROM marts.mart_hospital_commissions_monthly"
            " WHERE sales_month = {m:Date} GROUP BY hospital_code",
            parameters={"m": month},
        ).result_rows
    }
    params: dict[str, Any] = {"by": "hospital_code", "period": f"{month:%Y-%m}"}
    answered = client.get("/v1/metrics/effective_commission_rate", params=params, headers=keys["integration"])
    assert answered.status_code == 200, answered.text
    rows = answered.json()["rows"]
    assert {r["hospital_code"] for r in rows} == set(expected)
    for row in rows:
        commission, net = expected[row["hospital_code"]]
        assert row["effective_commission_rate"] == pytest.approx(float(commission / net), rel=1e-12)
    # Money is an exact decimal string, to the cent.
    [one] = client.get(
        "/v1/metrics/commission", params={**params, "where": "hospital_code:" + rows[0]["hospital_code"]},
        headers=keys["admin"],
    ).json()["rows"]  # fmt: skip
    assert Decimal(one["commission"]) == expected[rows[0]["hospital_code"]][0]


def test_metric_requests_that_are_refused(
    superset_stack: SupersetStack, imported: Imported, api: tuple[TestClient, dict[str, dict[str, str]]]
) -> None:
    client, keys = api
    assert client.get("/v1/metrics").status_code == 401
    assert client.get("/v1/metrics/net_sales", headers=keys["machine"]).status_code == 403
    unknown = client.get("/v1/metrics/pin_hash", headers=keys["integration"])
    assert unknown.status_code == 404 and "no metric pin_hash" in error(unknown)["message"]
    ambiguous = client.get("/v1/metrics/total_leads", headers=keys["integration"])
    assert ambiguous.status_code == 404 and "mart_funnel.total_leads" in error(ambiguous)["message"]
    for params, field in (
        ({"by": "commission_reporting"}, ["query", "by"]),  # a column, not one of the metric's dimensions
        ({"where": "hospital_code"}, ["query", "where", 0]),
        ({"where": "pin_hash:1"}, ["query", "where"]),
        ({"period": "2026-13"}, ["query", "period"]),
        ({"period": "2026-12-01..2026-11-01"}, ["query", "period"]),
        ({"where": ["hospital_code:H001", "hospital_code:H002"]}, ["query", "where", 1]),  # the same filter twice
        ({"by": ["hospital_code", "hospital_code"]}, ["query", "by"]),
        ({"limit": "0"}, ["query", "limit"]),
        ({"limit": "10001"}, ["query", "limit"]),
        ({"by": ["x"] * 11}, ["query", "by"]),  # oversized
    ):
        refused = client.get("/v1/metrics/net_sales", params=params, headers=keys["integration"])
        assert refused.status_code == 422, (params, refused.text)
        assert error(refused)["fields"][0]["loc"] == field, params
    # A value is a parameter, never SQL.
    injected = client.get(
        "/v1/metrics/net_sales", params={"where": "hospital_code:H001' OR '1'='1"}, headers=keys["integration"]
    )
    assert injected.status_code == 200 and injected.json()["rows"] == [{"net_sales": None}]
    # More groups than asked for: the first `limit`, and `truncated` says so.
    capped = client.get("/v1/metrics/net_sales", params={"by": "hospital_code", "limit": 1}, headers=keys["admin"])
    assert capped.status_code == 200 and len(capped.json()["rows"]) == 1 and capped.json()["truncated"] is True


def test_a_hospital_key_reads_its_own_hospital_only(
    superset_stack: SupersetStack, imported: Imported, api: tuple[TestClient, dict[str, dict[str, str]]]
) -> None:
    client, keys = api
    listed = client.get("/v1/metrics", headers=keys["H001"])
    assert listed.status_code == 200
    assert {m["model"] for m in listed.json()} == {
        "mart_hospital_commissions_monthly",
        "mart_vending_daily",
        "mart_machine_stock",
        "mart_machine_product_daily",
        "mart_machine_daily",
    }
    everyone = client.get("/v1/metrics/net_sales", params={"by": "hospital_code"}, headers=keys["integration"])
    totals = {r["hospital_code"]: r["net_sales"] for r in everyone.json()["rows"]}
    assert len(totals) > 1
    own = client.get("/v1/metrics/net_sales", params={"by": "hospital_code"}, headers=keys["H001"])
    assert own.status_code == 200 and own.json()["rows"] == [{"hospital_code": "H001", "net_sales": totals["H001"]}]
    other = next(code for code in totals if code != "H001")
    # Asking for another hospital's rows by name, by id or in a list finds nothing: the warehouse filters them.
    [[other_id]] = (
        superset_stack.warehouse_client()
        .query("SELECT hospital_id FROM marts.dim_hospitals WHERE hospital_code = {c:String}", parameters={"c": other})
        .result_rows
    )
    for where in (f"hospital_code:{other}", f"hospital_id:{other_id}", f"hospital_name:{other}"):
        stolen = client.get("/v1/metrics/net_sales", params={"where": where}, headers=keys["H001"])
        assert stolen.status_code == 200 and stolen.json()["rows"] == [{"net_sales": None}], where
    counted = client.get("/v1/metrics/hospitals", headers=keys["H001"]).json()["rows"]
    assert counted == [{"hospitals": 1}]
    machines = client.get("/v1/metrics/total_vends", params={"by": "hospital_name"}, headers=keys["H001"])
    assert machines.status_code == 200 and len(machines.json()["rows"]) == 1
    # Metrics of marts without a hospital, and every other endpoint, are refused.
    for name in ("mart_funnel.total_leads", "mart_receivables.invoiced", "total_spend"):
        refused = client.get(f"/v1/metrics/{name}", headers=keys["H001"])
        assert refused.status_code == 403, (name, refused.text)
    assert client.get("/v1/hospitals", headers=keys["H001"]).status_code == 403
    assert client.get("/v1/report-subscriptions", headers=keys["H001"]).status_code == 403
