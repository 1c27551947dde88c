"""What `--live` needs to know before it starts: who and what exists (read from the store), the
customers' PINs (derived from the history's seed), and API keys of the right scopes."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

from sqlalchemy import or_, select

from operational_api import models as m
from operational_api.db import Store
from operational_api.services.keys import authenticate, create_api_key
from pulse.core.settings import Settings
from simulator.history import SimulationError, world_file
from simulator.profiles import SimProfile, sim_profile
from simulator.rng import customer_pin, stream

LIVE_SCOPES = ("machine", "portal", "operator")


@dataclass
class LiveCustomer:
    id: int
    client_id: str
    pin: str
    hospital_code: str | None
    has_card: bool
    currency: str  # the account's


@dataclass
class LiveWorld:
    base_url: str
    machines: list[str]  # serials
    products: dict[str, dict[str, Decimal]]  # sku -> currency -> current price
    customers: list[LiveCustomer]
    operators: list[int]
    pipeline_id: int | None  # None: a business without clinics (no CRM traffic)
    stages: dict[str, int]
    keys: dict[str, str]  # scope -> API key
    key_ids: list[int]
    profile: SimProfile


def loopback_base_url(settings: Settings) -> str:
    """The API's URL from settings; refuses anything but this machine (the simulator floods it)."""
    host = settings.api_host
    try:
        address = ipaddress.ip_address(socket.gethostbyname(host))
    except (OSError, ValueError) as err:
        raise SimulationError(f"cannot resolve PULSE_API_HOST {host!r}: {err}") from None
    if not address.is_loopback:
        raise SimulationError(f"--live drives only an API on this machine; PULSE_API_HOST is {host} ({address})")
    url = f"http://{host}:{settings.api_port}"
    assert urlsplit(url).hostname == host
    return url


def load_world(store: Store, settings: Settings, *, customers: int, seed_override: int | None = None) -> LiveWorld:
    path = world_file(settings)
    if not path.exists():
        raise SimulationError("no simulated business in this store: run `pulse simulate --history` first "
                              "(e.g. --scale 0.01 --days 7)")  # fmt: skip
    held = json.loads(path.read_text())
    seed = seed_override if seed_override is not None else int(held["seed"])
    profile = sim_profile(held.get("profile", "ru-clinics"))
    base_url = loopback_base_url(settings)
    now = dt.datetime.now(dt.UTC)
    rng = stream(seed, f"live-world:{now.isoformat()}")
    with store.read() as session:
        machines = list(session.execute(
            select(m.Machine.serial).where(m.Machine.deleted_at.is_(None), m.Machine.status != "retired")
            .order_by(m.Machine.id)).scalars())  # fmt: skip
        products: dict[str, dict[str, Decimal]] = {}
        valid_now = session.execute(
            select(m.Product.sku, m.ProductPrice.currency, m.ProductPrice.price)
            .join(m.ProductPrice, m.ProductPrice.product_id == m.Product.id)
            .where(m.ProductPrice.deleted_at.is_(None), m.ProductPrice.valid_from <= now,
                   or_(m.ProductPrice.valid_to.is_(None), m.ProductPrice.valid_to > now))
            .order_by(m.Product.id, m.ProductPrice.valid_from)
        )  # fmt: skip
        for sku, currency, price in valid_now:
            products.setdefault(sku, {})[currency] = Decimal(price)
        rows = session.execute(
            select(m.Customer.id, m.Customer.client_id, m.Hospital.code, m.Customer.payment_token, m.Customer.currency)
            .join(m.Hospital, m.Hospital.id == m.Customer.home_hospital_id, isouter=True)
            .where(m.Customer.status == "active", m.Customer.pin_locked_at.is_(None), m.Customer.deleted_at.is_(None))
            .order_by(m.Customer.id)
        ).all()  # fmt: skip
        operators = list(session.execute(
            select(m.Operator.id).where(m.Operator.is_robot.is_(False), m.Operator.active.is_(True))
            .order_by(m.Operator.id)).scalars())  # fmt: skip
        pipeline_id = session.execute(select(m.Pipeline.id).where(m.Pipeline.code == "clinic")).scalar_one_or_none()
        stages = {code: sid for sid, code in session.execute(
            select(m.PipelineStage.id, m.PipelineStage.code).where(m.PipelineStage.pipeline_id == pipeline_id))}  # fmt: skip
    if not machines or not products or not rows or not operators:
        raise SimulationError("the store lacks machines, priced products, active customers or operators")
    chosen = rng.sample(rows, min(customers, len(rows)))
    people = [LiveCustomer(r.id, r.client_id, customer_pin(seed, r.client_id), r.code, r.payment_token is not None,
                           r.currency) for r in chosen]  # fmt: skip
    keys: dict[str, str] = {}
    with store.write() as session:
        for scope in LIVE_SCOPES:
            keys[scope] = create_api_key(
                session, name=f"simulator --live {now:%Y-%m-%d %H:%M:%S} ({scope})", scope=scope
            )
        callers = [authenticate(session, key) for key in keys.values()]
        key_ids = [caller.key_id for caller in callers if caller is not None]
    return LiveWorld(base_url, machines, products, people, operators, pipeline_id, stages, keys, key_ids, profile)


def revoke_keys(store: Store, key_ids: list[int]) -> None:
    """The run's keys are of no use afterwards: revoke them."""
    with store.write() as session:  # through the ORM, so the change tracking stamps the rows
        for key in session.execute(select(m.ApiKey).where(m.ApiKey.id.in_(key_ids))).scalars():
            key.revoked_at = dt.datetime.now(dt.UTC)
