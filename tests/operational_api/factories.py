"""Reference data for tests, written through the service layer (as the simulator will)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from operational_api.db import Store
from operational_api.models import SCOPES, Hospital
from operational_api.schemas.vending import TopupIn, VendIn
from operational_api.services import crud, vending
from operational_api.services.keys import create_api_key
from operational_api.services.resources import BY_NAME

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@dataclass
class World:
    hospital_id: int
    machine_serials: list[str]
    skus: list[str]
    client_ids: list[str]
    price: Decimal


def keys_for_every_scope(session: Session) -> dict[str, str]:
    """One key per scope; the hospital key sees the store's first hospital (one made for it in an empty store)."""
    hospital_id = session.execute(select(Hospital.id).order_by(Hospital.id).limit(1)).scalar()
    if hospital_id is None:
        hospital_id = crud.create_row(
            session, BY_NAME["hospitals"], {"code": "KEYHOLDER", "name": "Key holder", "city": "Moscow",
                                            "region": "Moscow", "time_zone": "Europe/Moscow"},
        ).id  # fmt: skip
    return {
        scope: create_api_key(
            session, name=f"test {scope}", scope=scope, hospital_id=hospital_id if scope == "hospital" else None
        )
        for scope in SCOPES
    }


def seed(
    store: Store,
    *,
    machines: int = 2,
    customers: int = 3,
    pin: str = "2468",
    credit: str = "100000",
    currency: str = "RUB",
) -> World:
    """A hospital, machines stocked with two products priced in `currency`, customers whose accounts are in it
    (named explicitly, so the world does not depend on the business currency of the environment), and credit."""
    price = Decimal("150.00")
    with store.write() as s:
        hospital = crud.create_row(
            s, BY_NAME["hospitals"], {"code": "H1", "name": "City Hospital 1", "city": "Moscow", "region": "Moscow",
                                      "time_zone": "Europe/Moscow"},
        )  # fmt: skip
        skus = ["KIT-S", "KIT-M"]
        product_ids = []
        for sku in skus:
            product = crud.create_row(
                s, BY_NAME["products"], {"sku": sku, "name": sku, "kit_type": "scrubs", "size": sku[-1]}
            )
            product_ids.append(product.id)
            crud.create_row(
                s, BY_NAME["product-prices"],
                {"product_id": product.id, "price": price, "currency": currency, "valid_from": T0 - dt.timedelta(days=400)},
            )  # fmt: skip
        serials = []
        for index in range(machines):
            machine = crud.create_row(
                s, BY_NAME["machines"], {"serial": f"M{index:03d}", "hospital_id": hospital.id, "status": "active"}
            )
            serials.append(machine.serial)
            for product_id in product_ids:
                crud.create_row(
                    s, BY_NAME["machine-stock"], {"machine_id": machine.id, "product_id": product_id, "quantity": 10**6}
                )
        client_ids = []
        for index in range(customers):
            customer = crud.create_row(
                s, BY_NAME["customers"],
                {"client_id": f"C{index:05d}", "full_name": f"Doctor {index}", "role": "doctor", "pin": pin,
                 "payment_token": f"tok_{index}", "home_hospital_id": hospital.id, "currency": currency},
            )  # fmt: skip
            client_ids.append(customer.client_id)
        vending.ingest_topups(
            s,
            [
                TopupIn(entry_id=f"seed-{cid}", client_id=cid, amount=Decimal(credit), source="web_portal",
                        occurred_at=T0)
                for cid in client_ids
            ],
        )  # fmt: skip
    return World(hospital.id, serials, skus, client_ids, price)


def vends(world: World, count: int, prefix: str = "v", offline: bool = False) -> list[VendIn]:
    return [
        VendIn(
            id=f"{prefix}-{index:07d}",
            machine_serial=world.machine_serials[index % len(world.machine_serials)],
            client_id=world.client_ids[index % len(world.client_ids)],
            sku=world.skus[index % len(world.skus)],
            quantity=1,
            unit_price=world.price,
            device_time=T0 + dt.timedelta(minutes=index),
            offline=offline,
        )
        for index in range(count)
    ]


def vend_json(items: list[VendIn]) -> list[dict[str, object]]:
    return [item.model_dump(mode="json") for item in items]
