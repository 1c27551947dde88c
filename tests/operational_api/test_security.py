"""Secrets are never stored or logged in clear; PIN lockout raises an alert; card numbers are refused."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text

from operational_api.db import Store
from operational_api.models import OPERATIONAL_RULE_KINDS, Alert, Base, Customer, utcnow
from operational_api.services.alert_conditions import evaluate_operational
from operational_api.services.alert_rules import create_defaults, default_rules
from tests.operational_api.conftest import Api
from tests.operational_api.factories import seed

ROOT = Path(__file__).resolve().parents[2]
PIN = "73190485"  # 8 digits: a shorter PIN could occur in timestamps by chance


def _dump(store: Store) -> str:
    """Every value in every table, as text."""
    parts = []
    with store.read() as s:
        for table in Base.metadata.sorted_tables:
            for row in s.execute(text(f"SELECT * FROM {table.name}")):
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


def _raw_files(store: Store) -> bytes:
    if store.dialect != "sqlite":
        return b""
    path = Path(store.url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def test_keys_and_pins_never_stored_or_logged(api: Api, store: Store, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # SQL and its parameters, logged
    try:
        seed(store, customers=1)
        created = api.client.post(
            "/v1/customers",
            json={"client_id": "SECRET1", "full_name": "Dr S", "role": "nurse", "pin": PIN, "payment_token": "tok_x"},
            headers=api.headers("portal"),
        )
        assert created.status_code == 201 and "pin" not in created.json()
        for pin in (PIN, "000000"):
            api.client.post(
                "/v1/vend-authorisations",
                json={"machine_serial": "M000", "client_id": "SECRET1", "pin": pin, "sku": "KIT-S"},
                headers=api.headers("machine"),
            )
        api.client.patch(
            f"/v1/customers/{created.json()['id']}", json={"pin": "86420975"}, headers=api.headers("portal")
        )
        api.client.post("/v1/customers", json={"client_id": "BAD1", "full_name": "x", "role": "doctor",
                                               "pin": "12ab34"}, headers=api.headers("portal"))  # fmt: skip
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    assert "INSERT INTO customers" in caplog.text  # the SQL log really was captured
    database = _dump(store)
    raw = _raw_files(store)
    for secret in [*api.keys.values(), PIN, "86420975", "12ab34"]:
        assert secret not in caplog.text
        assert secret not in database
        assert secret.encode() not in raw
    with store.read() as s:
        stored = s.execute(select(Customer.pin_hash).where(Customer.client_id == "SECRET1")).scalar_one()
    assert stored.startswith("scrypt$")


def test_create_key_cli_prints_key_once_and_stores_hash(tmp_path: Path) -> None:
    env = {"PULSE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    cli = [sys.executable, "-c", "from pulse.cli import main; main()", "api"]
    refused = subprocess.run([*cli, "create-key", "--scope", "admin", "--name", "ops"], capture_output=True,
                             text=True, env=env, cwd=tmp_path, check=False)  # fmt: skip
    assert refused.returncode == 1 and "pulse api migrate" in refused.stderr
    subprocess.run([*cli, "migrate"], check=True, env=env, cwd=tmp_path, capture_output=True)
    out = subprocess.run([*cli, "create-key", "--scope", "machine", "--name", "M-17"], capture_output=True,
                         text=True, env=env, cwd=tmp_path, check=True)  # fmt: skip
    key = out.stdout.strip()
    assert key.startswith("pk_") and len(key) > 40
    assert key.encode() not in b"".join(p.read_bytes() for p in tmp_path.glob("ops.db*"))
    bad = subprocess.run([*cli, "create-key", "--scope", "root", "--name", "x"], capture_output=True, text=True,
                         env=env, cwd=tmp_path, check=False)  # fmt: skip
    assert bad.returncode == 1
    prefix = "_".join(key.split("_")[:2])
    listed = subprocess.run([*cli, "list-keys"], capture_output=True, text=True, env=env, cwd=tmp_path, check=True)
    assert prefix in listed.stdout + listed.stderr and key not in listed.stdout + listed.stderr
    subprocess.run([*cli, "revoke-key", prefix], check=True, env=env, cwd=tmp_path, capture_output=True)
    from fastapi.testclient import TestClient

    from operational_api.app import create_app
    from pulse.core.settings import Settings

    app = create_app(settings=Settings(home=tmp_path, ops_database_url=f"sqlite:///{tmp_path / 'ops.db'}"))
    with TestClient(app) as client:
        response = client.get("/v1/hospitals", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 401


def test_five_bad_pins_lock_the_customer_and_the_lockout_rule_raises_one_alert(api: Api, store: Store) -> None:
    world = seed(store, customers=2)
    client_id = world.client_ids[0]
    with store.write() as s:
        # every operational rule, so that each condition's query runs on this backend too
        create_defaults(s, [r for r in default_rules(store.settings) if r["kind"] in OPERATIONAL_RULE_KINDS])

    def authorise(pin: str) -> dict:  # type: ignore[type-arg]
        response = api.client.post(
            "/v1/vend-authorisations",
            json={"machine_serial": "M000", "client_id": client_id, "pin": pin, "sku": "KIT-S"},
            headers=api.headers("machine"),
        )
        assert response.status_code == 200
        return response.json()  # type: ignore[no-any-return]

    assert authorise("2468")["decision"] == "approved"
    for _ in range(4):
        assert authorise("0000")["reason"] == "bad_pin"
    assert authorise("2468")["decision"] == "approved"  # a good PIN resets the count
    for _ in range(5):
        assert authorise("0000")["reason"] == "bad_pin"
    assert authorise("2468")["reason"] == "pin_locked"  # even the right PIN, now
    evaluate_operational(store, utcnow())
    evaluate_operational(store, utcnow())  # still locked: still one alert
    with store.read() as s:
        alerts = s.execute(select(Alert)).scalars().all()
        customer = s.execute(select(Customer).where(Customer.client_id == client_id)).scalar_one()
    assert len(alerts) == 1 and alerts[0].kind == "pin_lockout" and alerts[0].customer_id == customer.id  # only
    assert alerts[0].machine_id is not None and alerts[0].status == "open"
    assert customer.failed_pin_count == 5 and customer.pin_locked_at is not None
    listed = api.client.get("/v1/alerts", headers=api.headers("admin")).json()["items"]
    assert listed[0]["kind"] == "pin_lockout"
    assert api.client.post(f"/v1/customers/{customer.id}/unlock", headers=api.headers("operator")).status_code == 200
    assert authorise("2468")["decision"] == "approved"
    evaluate_operational(store, utcnow())
    assert api.client.get("/v1/alerts", headers=api.headers("admin")).json()["items"][0]["status"] == "resolved"


def test_decline_reasons(api: Api, store: Store) -> None:
    world = seed(store, customers=3, credit="100")
    h = api.headers("machine")

    def reason(**over: object) -> str | None:
        body = {"machine_serial": "M000", "client_id": world.client_ids[1], "pin": "2468", "sku": "KIT-S", **over}
        response = api.client.post("/v1/vend-authorisations", json=body, headers=h)
        assert response.status_code == 200, response.text
        return response.json()["reason"]  # type: ignore[no-any-return]

    assert reason() == "insufficient_funds"  # 100 < 150
    assert reason(client_id="NOBODY") == "unknown_customer"
    assert reason(sku="NOPE") == "unknown_product"
    assert reason(machine_serial="NOPE") == "unknown_machine"
    api.client.patch("/v1/customers/3", json={"status": "blocked"}, headers=api.headers("portal"))
    assert reason(client_id=world.client_ids[2]) == "blocked"
    api.client.patch("/v1/machine-stock/1", json={"quantity": 0}, headers=api.headers("admin"))
    api.client.post("/v1/topups", json={"entry_id": "t-x", "client_id": world.client_ids[1], "amount": "500",
                                        "source": "web_portal", "occurred_at": "2026-01-01T00:00:00Z"},
                    headers=api.headers("portal"))  # fmt: skip
    assert reason() == "out_of_stock"
    assert reason(sku="KIT-M") is None


@pytest.mark.parametrize("token", ["4111111111111111", "tok_4111-1111-1111-1111", "5500 0000 0000 0004"])
def test_card_numbers_are_refused(api: Api, token: str) -> None:
    body = {"client_id": "CARD1", "full_name": "x", "role": "doctor", "pin": "1234", "payment_token": token}
    response = api.client.post("/v1/customers", json=body, headers=api.headers("portal"))
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["loc"] == ["body", "payment_token"]
    assert token not in response.text
