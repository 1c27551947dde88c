"""Customer accounts hold one currency: what an integrator or a machine sends in another is a 422 naming the
field, nothing is written, balances and authorisations are in the account's currency.

The business here reports in USD (PULSE_REPORTING_CURRENCY), so nothing below can pass by falling back to RUB.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from operational_api.db import Store
from pulse.core.settings import Settings
from tests.operational_api.conftest import Api
from tests.operational_api.factories import World, seed, vend_json, vends

T = "2026-02-01T00:00:00Z"


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(
        home=tmp_path / "home", ops_database_url=db_url, api_max_body_bytes=4 * 1024**2, reporting_currency="USD"
    )


@pytest.fixture
def usd_world(store: Store) -> World:
    return seed(store, customers=3, credit="1000", currency="USD")


def _fields(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"]["code"] == "invalid"
    return body["error"]["fields"]  # type: ignore[no-any-return]


def _entries(api: Api, customer_id: int) -> list[dict[str, Any]]:
    response = api.client.get(f"/v1/account-entries?customer_id={customer_id}", headers=api.headers("operator"))
    assert response.status_code == 200
    return response.json()["items"]  # type: ignore[no-any-return]


def _balance(api: Api, customer_id: int) -> dict[str, Any]:
    response = api.client.get(f"/v1/customers/{customer_id}/balance", headers=api.headers("portal"))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _customer(api: Api, client_id: str, **extra: object) -> Any:
    body = {"client_id": client_id, "full_name": f"Dr {client_id}", "role": "doctor", "pin": "2468", **extra}
    return api.client.post("/v1/customers", json=body, headers=api.headers("portal"))


def _topup(api: Api, entry_id: str, client_id: str, amount: str, **extra: object) -> Any:
    body = {"entry_id": entry_id, "client_id": client_id, "amount": amount, "source": "web_portal", "occurred_at": T}
    return api.client.post("/v1/topups", json={**body, **extra}, headers=api.headers("portal"))


def test_an_account_opens_in_the_business_currency_unless_told(api: Api) -> None:
    default = _customer(api, "ACC-DEFAULT")
    assert default.status_code == 201, default.text
    assert default.json()["currency"] == "USD"
    euro = _customer(api, "ACC-EURO", currency="EUR")
    assert euro.status_code == 201 and euro.json()["currency"] == "EUR"
    fields = _fields(_customer(api, "ACC-BAD", currency="ABC"))
    assert fields[0]["loc"] == ["body", "currency"] and "ISO 4217" in fields[0]["reason"]


def test_business_reference_data_defaults_to_the_business_currency(api: Api, usd_world: World) -> None:
    h = api.headers("admin")
    price = api.client.post(
        "/v1/product-prices", json={"product_id": 1, "price": "9.99", "valid_from": "2026-03-01T00:00:00Z"}, headers=h
    )
    assert price.status_code == 201 and price.json()["currency"] == "USD"
    plan = api.client.post("/v1/commission-plans", json={"code": "STD", "name": "Standard"}, headers=h)
    assert plan.status_code == 201 and plan.json()["currency"] == "USD"


def test_a_top_up_in_euros_to_a_dollar_account_is_refused_and_nothing_is_written(api: Api, usd_world: World) -> None:
    before = _entries(api, 1)
    response = _topup(api, "eur-1", "C00000", "50.00", currency="EUR")
    assert _fields(response) == [
        {
            "loc": ["body", "currency"],
            "reason": "the account of customer C00000 is in USD; an amount in EUR cannot be added to it",
        }
    ]
    assert _entries(api, 1) == before
    assert _balance(api, 1) == {"customer_id": 1, "balance": "1000.00", "currency": "USD"}
    # The same top-up in the account's currency, or without one (it takes the account's), is booked.
    assert _topup(api, "usd-1", "C00000", "50.00", currency="USD").status_code == 200
    assert _topup(api, "usd-2", "C00000", "25.00").status_code == 200
    assert {e["currency"] for e in _entries(api, 1)} == {"USD"}
    assert _balance(api, 1)["balance"] == "1075.00"


def test_a_top_up_batch_with_one_foreign_item_is_refused_whole(api: Api, usd_world: World) -> None:
    items = [
        {"entry_id": f"b-{n}", "client_id": usd_world.client_ids[n % 3], "amount": "10.00", "source": "web_portal",
         "occurred_at": T} for n in range(5)
    ]  # fmt: skip
    items[2]["currency"] = "RUB"
    response = api.client.post("/v1/topups/batch", json={"items": items}, headers=api.headers("integration"))
    assert [f["loc"] for f in _fields(response)] == [["body", "items", 2, "currency"]]
    assert [len(_entries(api, n)) for n in (1, 2, 3)] == [1, 1, 1]  # the seed's credit only


def test_a_vend_batch_with_one_foreign_item_is_refused_whole(api: Api, usd_world: World) -> None:
    items = vend_json(vends(usd_world, 5))
    items[3]["currency"] = "EUR"
    response = api.client.post("/v1/vend-transactions/batch", json={"items": items}, headers=api.headers("machine"))
    fields = _fields(response)
    assert fields == [
        {
            "loc": ["body", "items", 3, "currency"],
            "reason": f"the account of customer {items[3]['client_id']} is in USD; an amount in EUR cannot be "
            "added to it",
        }
    ]
    listed = api.client.get("/v1/vend-transactions", headers=api.headers("operator")).json()["items"]
    assert listed == []
    assert [_balance(api, n)["balance"] for n in (1, 2, 3)] == ["1000.00"] * 3
    # Without the foreign currency the batch goes through; vends without a currency take the account's.
    items[3]["currency"] = "USD"
    accepted = api.client.post("/v1/vend-transactions/batch", json={"items": items}, headers=api.headers("machine"))
    assert accepted.status_code == 200 and accepted.json()["created"] == 5
    listed = api.client.get("/v1/vend-transactions", headers=api.headers("operator")).json()["items"]
    assert {v["currency"] for v in listed} == {"USD"}


def test_an_adjustment_in_another_currency_is_refused(api: Api, usd_world: World) -> None:
    body = {"entry_id": "adj-1", "customer_id": 1, "kind": "adjustment", "amount": "-5.00", "currency": "EUR",
            "occurred_at": T}  # fmt: skip
    response = api.client.post("/v1/account-entries/adjustments", json=body, headers=api.headers("admin"))
    assert _fields(response) == [
        {
            "loc": ["body", "currency"],
            "reason": "the account of customer 1 is in USD; an amount in EUR cannot be added to it",
        }
    ]
    assert len(_entries(api, 1)) == 1
    del body["currency"]
    accepted = api.client.post("/v1/account-entries/adjustments", json=body, headers=api.headers("admin"))
    assert accepted.status_code == 200
    assert _balance(api, 1) == {"customer_id": 1, "balance": "995.00", "currency": "USD"}


def test_the_balance_is_the_sum_of_the_account_entries_in_its_currency(api: Api, usd_world: World) -> None:
    assert _customer(api, "EU-1", currency="EUR").status_code == 201
    customer_id = api.client.get("/v1/customers?client_id=EU-1", headers=api.headers("portal")).json()["items"][0]["id"]
    for n, amount in enumerate(["20.50", "10.25", "0.01"]):
        assert _topup(api, f"eu-{n}", "EU-1", amount, currency="EUR").status_code == 200
    vend = {"id": "eu-vend-1", "machine_serial": "M000", "client_id": "EU-1", "sku": "KIT-S", "quantity": 2,
            "unit_price": "3.10", "device_time": T}  # fmt: skip
    assert api.client.post("/v1/vend-transactions", json=vend, headers=api.headers("machine")).status_code == 200
    assert _balance(api, customer_id) == {"customer_id": customer_id, "balance": "24.56", "currency": "EUR"}
    assert _balance(api, 1) == {"customer_id": 1, "balance": "1000.00", "currency": "USD"}


def test_the_account_currency_is_fixed_once_it_has_entries(api: Api, usd_world: World) -> None:
    response = api.client.patch("/v1/customers/1", json={"currency": "EUR"}, headers=api.headers("portal"))
    fields = _fields(response)
    assert fields[0]["loc"] == ["body", "currency"]
    assert fields[0]["reason"] == (
        "the account of customer 1 already has entries in USD: its currency cannot change to EUR"
    )
    assert api.client.get("/v1/customers/1", headers=api.headers("portal")).json()["currency"] == "USD"
    fresh = _customer(api, "NEW-1").json()
    changed = api.client.patch(f"/v1/customers/{fresh['id']}", json={"currency": "EUR"}, headers=api.headers("portal"))
    assert changed.status_code == 200 and changed.json()["currency"] == "EUR"


def _price_list(api: Api) -> None:
    """KIT-L priced in USD and in EUR from the same moment, stocked in machine M000."""
    h = api.headers("admin")
    product = api.client.post("/v1/products", json={"sku": "KIT-L", "name": "KIT-L", "kit_type": "scrubs", "size": "L"},
                              headers=h).json()  # fmt: skip
    for price, currency in (("2.50", "USD"), ("2.30", "EUR")):
        created = api.client.post("/v1/product-prices", json={"product_id": product["id"], "price": price,
                                  "currency": currency, "valid_from": "2025-01-01T00:00:00Z"}, headers=h)  # fmt: skip
        assert created.status_code == 201, created.text
    stock = {"machine_id": 1, "product_id": product["id"], "quantity": 100}
    assert api.client.post("/v1/machine-stock", json=stock, headers=h).status_code == 201


def _authorise(api: Api, client_id: str) -> dict[str, Any]:
    body = {"machine_serial": "M000", "client_id": client_id, "pin": "2468", "sku": "KIT-L"}
    response = api.client.post("/v1/vend-authorisations", json=body, headers=api.headers("machine"))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_authorisation_prices_the_vend_in_the_account_currency(api: Api, usd_world: World) -> None:
    _price_list(api)
    for client_id, currency, credit in (("EU-1", "EUR", "2.40"), ("KZ-1", "KZT", "5000")):
        assert _customer(api, client_id, currency=currency).status_code == 201
        assert _topup(api, f"t-{client_id}", client_id, credit).status_code == 200

    dollars = _authorise(api, "C00000")
    assert dollars["decision"] == "approved"
    assert (dollars["unit_price"], dollars["currency"], dollars["balance"]) == ("2.50", "USD", "1000.00")

    euros = _authorise(api, "EU-1")  # 2.40 EUR buys a 2.30 EUR kit (it would not buy the 2.50 USD one)
    assert euros["decision"] == "approved"
    assert [euros[k] for k in ("unit_price", "amount", "currency", "balance")] == ["2.30", "2.30", "EUR", "2.40"]

    tenge = _authorise(api, "KZ-1")  # priced in USD and EUR, never in KZT
    assert (tenge["decision"], tenge["reason"], tenge["unit_price"], tenge["currency"]) == (
        "declined", "no_price", None, "KZT"
    )  # fmt: skip

    assert _topup(api, "poor-1", "C00001", "1.00").status_code == 200
    with_less = api.client.post("/v1/account-entries/adjustments", json={
        "entry_id": "drain-1", "customer_id": 2, "kind": "adjustment", "amount": "-998.60", "occurred_at": T},
        headers=api.headers("admin"))  # fmt: skip
    assert with_less.status_code == 200
    poor = _authorise(api, "C00001")  # 2.40 USD left: short of 2.50 USD, whatever 2.40 is in euros
    assert (poor["decision"], poor["reason"]) == ("declined", "insufficient_funds")
