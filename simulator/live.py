"""`pulse simulate --live`: drive the running API over HTTP like its real clients, for a bounded time
and number of requests: machines authorising and reporting vends (some offline, uploading batches
late and retrying them), the web portal topping accounts up (now and then a card is declined: the failure is
recorded and the customer tries again), operators logging leads, calls and deals.

Every write carries an Idempotency-Key or a client ID, and some are deliberately sent twice: the
report says whether a replay ever created anything twice (it must not) and whether any 5xx came back.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from simulator.live_world import LiveCustomer, LiveWorld
from simulator.names import person, phone
from simulator.rng import wrong_pin
from simulator.vending_sim import FAILED_TOPUP_RATE, TOPUP_FAILURE_REASONS


@dataclass
class LiveConfig:
    duration: float = 60.0  # seconds
    rate: float = 20.0  # requests per second, all clients together
    machines: int = 6  # concurrent machines (a third of them offline, uploading in batches)
    max_requests: int | None = None  # default: rate * duration
    customers: int = 200
    seed: int = 42
    failed_topups: float = FAILED_TOPUP_RATE  # share of card top-ups declined (recorded, then tried again)


@dataclass
class LiveReport:
    seconds: float = 0.0
    requests: Counter[str] = field(default_factory=Counter)  # "POST /v1/... 200"
    server_errors: int = 0
    transport_errors: int = 0
    vends_sent: int = 0
    vends_created: int = 0
    replays: int = 0
    replays_that_created: int = 0
    replay_mismatches: int = 0

    @property
    def total(self) -> int:
        return sum(self.requests.values())


class RateLimit:
    """Spaces requests evenly at `rate` per second and stops at the deadline or the request budget."""

    def __init__(self, rate: float, deadline: float, budget: int) -> None:
        self.interval = 1.0 / rate
        self.deadline = deadline
        self.budget = budget
        self.next_at = time.monotonic()

    def expired(self) -> bool:
        return self.budget <= 0 or time.monotonic() >= self.deadline

    async def slot(self) -> bool:
        if self.budget <= 0:
            return False
        self.budget -= 1
        now = time.monotonic()
        at = max(now, self.next_at)
        self.next_at = at + self.interval
        if at >= self.deadline:
            return False
        await asyncio.sleep(at - now)
        return True


class Driver:
    def __init__(self, world: LiveWorld, cfg: LiveConfig, client: httpx.AsyncClient, limit: RateLimit) -> None:
        self.world = world
        self.cfg = cfg
        self.client = client
        self.limit = limit
        self.report = LiveReport()
        self.run = uuid.uuid4().hex[:10]  # live IDs never collide with history or earlier runs
        self.rng = random.Random(f"{cfg.seed}:{self.run}")
        self.low: asyncio.Queue[LiveCustomer] = asyncio.Queue()
        self.counter = 0

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.run}-{self.counter:07d}"

    async def send(self, method: str, path: str, scope: str, body: Any = None, key: str | None = None,
                   label: str | None = None) -> httpx.Response | None:  # fmt: skip
        if not await self.limit.slot():
            raise Stop
        headers = {"Authorization": f"Bearer {self.world.keys[scope]}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        try:
            response = await self.client.request(method, path, json=body, headers=headers)
        except httpx.HTTPError:
            self.report.transport_errors += 1
            return None
        self.report.requests[f"{method} {label or path} {response.status_code}"] += 1
        if response.status_code >= 500:
            self.report.server_errors += 1
        return response

    async def replay(self, method: str, path: str, scope: str, body: Any, key: str | None, first: httpx.Response,
                     label: str) -> None:  # fmt: skip
        """Send the same request again, as a client whose first attempt timed out would."""
        again = await self.send(method, path, scope, body, key, label=f"{label} (replay)")
        if again is None:
            return
        self.report.replays += 1
        if key is not None and again.content != first.content:  # a keyed replay gets the stored response
            self.report.replay_mismatches += 1
        if key is None and again.status_code == 200 and again.json().get("created", 0):
            self.report.replays_that_created += 1  # the IDs alone must have made it a no-op

    def topup_amount(self, currency: str) -> Decimal:
        """About fifteen of the dearest kits, in whole units of the account's currency."""
        dearest = max((prices[currency] for prices in self.world.products.values() if currency in prices), default=0)
        return (Decimal(dearest) * 15).quantize(Decimal("1"))

    # --- clients -------------------------------------------------------------------------------------

    async def machine(self, serial: str, offline: bool) -> None:
        buffer: list[dict[str, Any]] = []
        skus = list(self.world.products)
        while True:
            customer = self.rng.choice(self.world.customers)
            sku = self.rng.choice(skus)
            price = self.world.products[sku].get(customer.currency)
            if price is None:  # no price list in this account's currency: the machine would refuse it
                await asyncio.sleep(0.05)
                continue
            pin = customer.pin if self.rng.random() > 0.03 else wrong_pin(customer.pin)
            vend: dict[str, Any] = {"id": self.next_id(serial), "machine_serial": serial, "client_id": customer.client_id,
                    "sku": sku, "quantity": 1, "unit_price": str(price), "currency": customer.currency,
                    "device_time": dt.datetime.now(dt.UTC).isoformat(), "offline": offline}  # fmt: skip
            if offline:
                buffer.append(vend)
                await asyncio.sleep(self.rng.uniform(0.05, 0.3))
                if len(buffer) >= self.rng.randint(5, 15):
                    await self.upload(buffer)
                    buffer = []
                continue
            auth = await self.send("POST", "/v1/vend-authorisations", "machine", {
                "machine_serial": serial, "client_id": customer.client_id, "pin": pin, "sku": sku, "quantity": 1})  # fmt: skip
            if auth is None or auth.status_code != 200:
                continue
            decision = auth.json()
            if decision["decision"] != "approved":
                if decision["reason"] == "insufficient_funds":
                    self.low.put_nowait(customer)
                continue
            vend["authorisation_id"] = decision["authorisation_id"]
            vend["unit_price"] = decision["unit_price"]
            first = await self.send("POST", "/v1/vend-transactions", "machine", vend, key=vend["id"])
            self.count_vends(first, 1)
            if first is not None and first.status_code == 200 and self.rng.random() < 0.15:
                await self.replay("POST", "/v1/vend-transactions", "machine", vend, vend["id"], first,
                                  "/v1/vend-transactions")  # fmt: skip
            balance = Decimal(str(decision.get("balance") or 0)) - Decimal(str(decision["amount"]))
            if balance < Decimal("1000"):
                self.low.put_nowait(customer)

    async def upload(self, buffer: list[dict[str, Any]]) -> None:
        """An offline machine reconnects: one batch, out of order; sometimes sent twice (no key)."""
        self.rng.shuffle(buffer)
        body = {"items": buffer}
        first = await self.send("POST", "/v1/vend-transactions/batch", "machine", body)
        self.count_vends(first, len(buffer))
        if first is not None and first.status_code == 200 and self.rng.random() < 0.5:
            await self.replay("POST", "/v1/vend-transactions/batch", "machine", body, None, first,
                              "/v1/vend-transactions/batch")  # fmt: skip

    def count_vends(self, response: httpx.Response | None, sent: int) -> None:
        self.report.vends_sent += sent
        if response is not None and response.status_code == 200:
            self.report.vends_created += int(response.json()["created"])

    async def portal(self) -> None:
        """Tops up everyone first, then whoever runs low; every top-up has its own entry ID."""
        for customer in self.world.customers:
            self.low.put_nowait(customer)
        while True:
            try:
                customer = await asyncio.wait_for(self.low.get(), timeout=0.5)
            except TimeoutError:
                if self.limit.expired():
                    raise Stop from None
                continue
            source = "phone_operator" if customer.has_card and self.rng.random() < 0.3 else "web_portal"
            if self.rng.random() < self.cfg.failed_topups:
                await self.declined(customer, source)
                self.low.put_nowait(customer)  # tries again
                continue
            entry_id = self.next_id("tu")
            body: dict[str, Any] = {"entry_id": entry_id, "client_id": customer.client_id, "amount": str(self.topup_amount(customer.currency)), "currency": customer.currency,
                    "source": source, "occurred_at": dt.datetime.now(dt.UTC).isoformat(),
                    "processor_ref": f"ch_{entry_id}"}  # fmt: skip
            if source == "phone_operator":
                body["operator_id"] = self.rng.choice(self.world.operators)
            first = await self.send("POST", "/v1/topups", "portal", body, key=entry_id)
            if first is not None and first.status_code == 200 and self.rng.random() < 0.1:
                await self.replay("POST", "/v1/topups", "portal", body, entry_id, first, "/v1/topups")

    async def declined(self, customer: LiveCustomer, source: str) -> None:
        """The card is declined: nothing is credited; the portal records the failed attempt (once per attempt ID)."""
        attempt_id = self.next_id("tf")
        body = {"attempt_id": attempt_id, "customer_id": customer.id, "source": source,
                "amount": str(self.topup_amount(customer.currency)), "currency": customer.currency,
                "reason": self.rng.choice(TOPUP_FAILURE_REASONS), "processor_ref": f"ch_{attempt_id}",
                "occurred_at": dt.datetime.now(dt.UTC).isoformat()}  # fmt: skip
        first = await self.send("POST", "/v1/topup-failures", "portal", body, key=attempt_id)
        if first is not None and first.status_code == 201 and self.rng.random() < 0.1:
            await self.replay("POST", "/v1/topup-failures", "portal", body, attempt_id, first, "/v1/topup-failures")

    async def operator(self) -> None:
        """A call-centre operator: a lead comes in, gets called, maybe booked, the deal moves on."""
        stages = self.world.stages
        while True:
            op = self.rng.choice(self.world.operators)
            full_name, _, _ = person(self.rng, self.world.profile)
            number = phone(self.rng, self.world.profile)
            contact = await self.send("POST", "/v1/contacts", "operator", {"full_name": full_name, "phone": number})
            if contact is None or contact.status_code != 201:
                continue
            contact_id = contact.json()["id"]
            now = dt.datetime.now(dt.UTC)
            lead = await self.send("POST", "/v1/leads", "operator", {
                "contact_id": contact_id, "channel": "web_form", "utm_source": "yandex", "utm_medium": "cpc",
                "utm_campaign": "live", "received_at": now.isoformat(), "assigned_operator_id": op})  # fmt: skip
            if lead is None or lead.status_code != 201:
                continue
            lead_id = lead.json()["id"]
            answered = self.rng.random() < 0.7
            call_id = self.next_id("pbx")
            calls = {"items": [{"external_id": call_id, "direction": "outbound", "operator_id": op,
                                "contact_id": contact_id, "lead_id": lead_id, "phone": number,
                                "started_at": now.isoformat(), "duration_seconds": 95 if answered else 0,
                                "outcome": "answered" if answered else "missed"}]}  # fmt: skip
            first = await self.send("POST", "/v1/calls/batch", "operator", calls, key=call_id)
            if first is not None and first.status_code == 200 and self.rng.random() < 0.2:
                await self.replay("POST", "/v1/calls/batch", "operator", calls, call_id, first, "/v1/calls/batch")
            if not answered:
                if self.rng.random() < 0.3:  # a duplicate lead: tombstoned
                    await self.send("DELETE", f"/v1/leads/{lead_id}", "operator", label="/v1/leads/{id}")
                continue
            await self.send(
                "PATCH", f"/v1/leads/{lead_id}", "operator", {"status": "in_progress"}, label="/v1/leads/{id}"
            )
            deal = await self.send("POST", "/v1/deals", "operator", {
                "pipeline_id": self.world.pipeline_id, "stage_id": stages["new"], "contact_id": contact_id,
                "lead_id": lead_id, "operator_id": op, "title": "Консультация", "amount": "2500.00"})  # fmt: skip
            if deal is None or deal.status_code != 201:
                continue
            deal_id = deal.json()["id"]
            path = ["contacted", "booked"] + (["attended", "won"] if self.rng.random() < 0.6 else ["lost"])
            for stage in path:
                await self.send("POST", f"/v1/deals/{deal_id}/stage-moves", "operator",
                                {"stage_id": stages[stage], "operator_id": op}, label="/v1/deals/{id}/stage-moves")  # fmt: skip


class Stop(Exception):
    """The time or request budget is spent."""


async def _guard(coro: Any) -> None:
    try:
        await coro
    except Stop:
        return


async def drive(world: LiveWorld, cfg: LiveConfig) -> LiveReport:
    began = time.monotonic()
    budget = cfg.max_requests if cfg.max_requests is not None else int(cfg.rate * cfg.duration) + 1
    limit = RateLimit(cfg.rate, began + cfg.duration, budget)
    limits = httpx.Limits(max_connections=cfg.machines + 4)
    async with httpx.AsyncClient(base_url=world.base_url, timeout=30.0, limits=limits, trust_env=False) as client:
        driver = Driver(world, cfg, client, limit)
        machines = world.machines[: cfg.machines] or world.machines
        tasks = [_guard(driver.machine(serial, offline=index % 3 == 2)) for index, serial in enumerate(machines)]
        tasks.append(_guard(driver.portal()))
        if world.pipeline_id is not None:  # a business with clinics: a call-centre operator works its leads
            tasks.append(_guard(driver.operator()))
        # A task group, not gather under wait_for: on Ctrl-C, gather's future ended with a CancelledError
        # nobody retrieved, and asyncio printed its traceback as the demo stopped.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(cfg.duration + 30), asyncio.TaskGroup() as group:
                for task in tasks:
                    group.create_task(task)
    driver.report.seconds = time.monotonic() - began
    return driver.report
