"""The vending side's reference data: commission plans, hospitals, machines, products and their price
lists, stock, customers. Built in memory (the simulation needs it) and scheduled as inserts at the
moment each thing came to exist."""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal

from operational_api import models as m
from pulse.core.vocabulary import LOCALES
from simulator import names
from simulator.calendar import SHIFT_WEIGHTS, SHIFTS
from simulator.config import SimConfig
from simulator.profiles import SimProfile
from simulator.rng import stream
from simulator.writer import Ids, Timeline

KIT_TYPES = {  # kit type: (name by language, base price in kopecks (times the profile's price_scale), share of vends)
    "scrubs": ({"ru": "Хирургический костюм", "en": "Scrubs"}, 35_000, 0.55),
    "surgical": ({"ru": "Стерильный хирургический комплект", "en": "Sterile surgical pack"}, 52_000, 0.25),
    "gown": ({"ru": "Халат медицинский", "en": "Medical gown"}, 28_000, 0.12),
    "isolation": ({"ru": "Изоляционный комплект", "en": "Isolation kit"}, 41_000, 0.08),
}
FOREIGN_ACCOUNT_SHARE = 0.12  # --mixed-currencies: accounts kept in a foreign currency
SIZES = ["S", "M", "L", "XL", "XXL"]
SIZE_WEIGHTS = [0.18, 0.32, 0.28, 0.15, 0.07]
# Price list changes during the window: (fraction of the window elapsed, kit types, multiplier).
PRICE_CHANGES = [(0.35, ("scrubs", "surgical", "gown", "isolation"), 1.07), (0.78, ("surgical", "isolation"), 1.05)]
PAYROLL_HOSPITAL_SHARE = 0.3
MEAN_VENDS_PER_WEEKDAY = 0.37  # per customer: about 110 kits a year
HOSPITALS_PER_SALES_REP = 20  # about 7 reps for the 136 hospitals at scale 1


def money(minor: int) -> Decimal:
    """Minor units (kopecks, cents) as an amount."""
    return Decimal(minor).scaleb(-2)


def in_account(minor: int, unit: float, step: int = 10) -> int:
    """An amount in minor units of the business currency, in an account's currency (`unit` of it per business
    unit), rounded to `step` minor units; the business currency itself (unit 1) unchanged."""
    return minor if unit == 1.0 else max(step, round(minor * unit / step) * step)


def other_locale(locale: str) -> str:
    return next(other for other in LOCALES if other != locale)


@dataclass
class Hospital:
    id: int
    code: str
    zone: str
    payroll: bool
    machines: list[int] = field(default_factory=list)
    onboarded_at: dt.datetime = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@dataclass
class Machine:
    id: int
    serial: str
    hospital: int  # index into VendingWorld.hospitals
    flaky: bool


@dataclass
class Product:
    id: int
    sku: str
    kit_type: str
    size: str
    prices: list[tuple[dt.datetime, int]]  # (valid_from, minor units of the business currency), ascending

    def price_at(self, at: dt.datetime, unit: float = 1.0) -> int:
        """The price at `at`, in an account currency worth `unit` of it per business unit (the price lists written below agree)."""
        current = self.prices[0][1]
        for valid_from, minor in self.prices:
            if valid_from > at:
                break
            current = minor
        return in_account(current, unit)


@dataclass
class Customer:
    id: int
    client_id: str
    hospital: int
    role: str
    shift: str
    rate: float  # expected vends on a weekday
    size: str
    machine_pref: list[int]  # machine indexes, most used first
    registered_at: dt.datetime
    has_card: bool
    payroll: bool
    forgetful: float  # daily chance of forgetting the PIN (5 bad tries, lockout)
    currency: str = ""  # the account's currency
    unit: float = 1.0  # its minor units per minor unit of the business currency


@dataclass
class VendingWorld:
    hospitals: list[Hospital]
    machines: list[Machine]
    products: list[Product]
    customers: list[Customer]
    stock_ids: dict[tuple[int, int], int]  # (machine index, product index) -> machine_stock.id
    capacity: dict[tuple[int, int], int]


def build_vending_world(cfg: SimConfig, ids: Ids, timeline: Timeline) -> VendingWorld:
    """Everything but the customers' rows, which need PIN hashes (see `customer_row`)."""
    rng = stream(cfg.seed, "vending-world")
    start = cfg.start
    long_ago = start - dt.timedelta(days=900)

    profile = cfg.business
    currency = profile.business.currency
    price_lists = {currency: 1.0, **(profile.account_currencies if cfg.mixed_currencies else {})}
    plans = []
    for code, tiers in (
        ("standard", [(0, "0.0500"), (500, "0.0650"), (1500, "0.0800")]),
        ("premium", [(0, "0.0700"), (800, "0.0900"), (2500, "0.1100")]),
    ):
        plan_id = ids.next(m.CommissionPlan)
        plans.append(plan_id)
        timeline.insert(m.CommissionPlan, {"id": plan_id, "code": code, "name": profile.plan_names[code],
                                           "currency": currency}, long_ago)  # fmt: skip
        for min_kits, tier_rate in tiers:
            row = {"id": ids.next(m.CommissionTier), "plan_id": plan_id, "min_monthly_kits": min_kits,
                   "rate": Decimal(tier_rate)}  # fmt: skip
            timeline.insert(m.CommissionTier, row, long_ago)

    products: list[Product] = []
    for kit_type, (title, base, _) in KIT_TYPES.items():
        for size in SIZES:
            product_id = ids.next(m.Product)
            sku = f"{kit_type.upper()}-{size}"
            base_price = round(base * profile.price_scale * (1.1 if size == "XXL" else 1.0) / 10) * 10
            prices = [(start - dt.timedelta(days=200), base_price)]
            for fraction, kinds, factor in PRICE_CHANGES:
                if kit_type in kinds:
                    when = start + dt.timedelta(days=math.floor(cfg.days * fraction), hours=21)
                    prices.append((when, round(prices[-1][1] * factor / 100) * 100))
            products.append(Product(product_id, sku, kit_type, size, prices))
            timeline.insert(m.Product, {"id": product_id, "sku": sku, "name": f"{title[profile.business.locale]} {size}",
                                        "kit_type": kit_type, "size": size, "active": True}, long_ago)  # fmt: skip
            for list_currency, unit in price_lists.items():  # one price list per account currency
                previous: int | None = None
                for valid_from, minor in prices:
                    price_id = ids.next(m.ProductPrice)
                    row = {"id": price_id, "product_id": product_id, "price": money(in_account(minor, unit)),
                           "currency": list_currency, "valid_from": valid_from, "valid_to": None}  # fmt: skip
                    # A new price is entered a few days ahead; the old one is closed at the same moment.
                    entered = min(valid_from - dt.timedelta(days=3), valid_from)
                    timeline.insert(m.ProductPrice, row, max(entered, long_ago))
                    if previous is not None:
                        timeline.update(m.ProductPrice, previous, {"valid_to": valid_from}, max(entered, long_ago))
                    previous = price_id

    hospitals: list[Hospital] = []
    machines: list[Machine] = []
    sizes: list[float] = []
    for index in range(cfg.hospitals):
        if index < len(profile.zones) <= cfg.hospitals:  # every zone has a hospital, however small the weight
            zone, _, cities = profile.zones[index]
        else:
            zone, _, cities = rng.choices(profile.zones, weights=[weight for _, weight, _ in profile.zones])[0]
        city, region = rng.choice(cities)
        hospital_id = ids.next(m.Hospital)
        code = f"H{index + 1:03d}"
        # A few hospitals join during the window; the rest were onboarded earlier.
        joins_late = index >= 2 and rng.random() < 0.04
        onboarded = (
            start + dt.timedelta(days=rng.uniform(0.1, 0.7) * cfg.days)
            if joins_late
            else start - dt.timedelta(days=rng.uniform(30, 800))
        )
        # The first hospital always pays through payroll, so every scale has some payroll top-ups.
        payroll = index == 0 or rng.random() < PAYROLL_HOSPITAL_SHARE
        hospital = Hospital(hospital_id, code, zone, payroll, onboarded_at=onboarded)
        hospitals.append(hospital)
        sizes.append(rng.lognormvariate(0, 0.6))
        timeline.insert(m.Hospital, {"id": hospital_id, "code": code, "name": profile.hospital_name(rng, index + 1, city),
                                     "city": city, "region": region, "time_zone": zone,
                                     "commission_plan_id": rng.choice(plans)}, onboarded)  # fmt: skip
        for _ in range(rng.choice([1, 2])):
            who, handle, _ = names.person(rng, cfg.business)
            timeline.insert(m.ReportContact, {"id": ids.next(m.ReportContact), "hospital_id": hospital_id,
                                              "name": who, "email": f"{handle}@{code.lower()}.{profile.email_domain}",
                                              "locale": _locale(rng, profile, 0.9),
                                              "role": rng.choice(profile.contact_roles)},
                            onboarded)  # fmt: skip
    _sales_reps(cfg, ids, timeline, hospitals, long_ago)
    # Bigger hospitals get more machines (1-4).
    for h_index, hospital in enumerate(hospitals):
        count = min(4, max(1, round(sizes[h_index] * 1.6)))
        for k in range(count):
            machine_id = ids.next(m.Machine)
            serial = f"VM-{hospital.code}-{k + 1}"
            # One machine in six has a bad network; the very first one always does (every scale sees outages).
            machines.append(Machine(machine_id, serial, h_index, not machines or rng.random() < 0.17))
            hospital.machines.append(len(machines) - 1)
            timeline.insert(m.Machine, {"id": machine_id, "serial": serial, "hospital_id": hospital.id,
                                        "location": profile.machine_location(k + 1, rng.randint(1, 6)), "status": "active",
                                        "installed_on": hospital.onboarded_at.date(), "last_seen_at": None},
                            hospital.onboarded_at)  # fmt: skip

    customers: list[Customer] = []
    accounts_rng = stream(cfg.seed, "foreign-accounts")  # its own stream: the rest of the world is the same either way
    hospital_weights = sizes
    kit_shares = [share for _, _, share in KIT_TYPES.values()]
    demand: dict[tuple[int, int], float] = {}
    for index in range(cfg.customers):
        h_index = rng.choices(range(len(hospitals)), weights=hospital_weights)[0]
        hospital = hospitals[h_index]
        role = rng.choices(["nurse", "doctor", "other"], weights=[55, 35, 10])[0]
        shift = rng.choices(SHIFTS, weights=SHIFT_WEIGHTS[role])[0]
        rate = MEAN_VENDS_PER_WEEKDAY * rng.lognormvariate(-0.18, 0.6)
        late = rng.random() < 0.15
        if hospital.onboarded_at >= start or late:
            earliest = max(hospital.onboarded_at, start)
            registered = earliest + dt.timedelta(days=rng.uniform(0, max(0.5, (cfg.stop - earliest).days * 0.9)))
        else:
            registered = hospital.onboarded_at + dt.timedelta(days=rng.uniform(0, 25))
        prefs = list(hospital.machines)
        rng.shuffle(prefs)
        customer = Customer(
            id=ids.next(m.Customer),
            client_id=f"{7_100_000 + index * 13 + rng.randrange(13)}",
            hospital=h_index,
            role=role,
            shift=shift,
            rate=rate,
            size=rng.choices(SIZES, weights=SIZE_WEIGHTS)[0],
            machine_pref=prefs,
            registered_at=registered,
            has_card=rng.random() < 0.6,
            payroll=hospital.payroll and rng.random() < 0.5,
            forgetful=rng.choice([0.0, 0.0, 0.0, 0.001, 0.004]),
            currency=currency,
        )
        if cfg.mixed_currencies and accounts_rng.random() < FOREIGN_ACCOUNT_SHARE:
            customer.currency = accounts_rng.choice(sorted(profile.account_currencies))
            customer.unit = profile.account_currencies[customer.currency]
        customers.append(customer)
        for p_index, product in enumerate(products):
            if product.size == customer.size:
                share = kit_shares[list(KIT_TYPES).index(product.kit_type)]
                for mach in prefs:
                    key = (mach, p_index)
                    demand[key] = demand.get(key, 0.0) + rate * share / len(prefs)
    stock_ids: dict[tuple[int, int], int] = {}
    capacity: dict[tuple[int, int], int] = {}
    for mach_index, machine in enumerate(machines):
        hospital = hospitals[machine.hospital]
        for p_index, product in enumerate(products):
            key = (mach_index, p_index)
            # Refilled twice a week: room for about four days of demand, at least a few kits.
            capacity[key] = max(4, math.ceil(demand.get(key, 0.0) * 4.5 * 1.3))
            stock_ids[key] = ids.next(m.MachineStock)
            timeline.insert(m.MachineStock, {"id": stock_ids[key], "machine_id": machine.id,
                                             "product_id": product.id, "quantity": capacity[key]},
                            hospital.onboarded_at)  # fmt: skip
    return VendingWorld(hospitals, machines, products, customers, stock_ids, capacity)


def _sales_reps(cfg: SimConfig, ids: Ids, timeline: Timeline, hospitals: list[Hospital], long_ago: dt.datetime) -> None:
    """Sales reps, one per about HOSPITALS_PER_SALES_REP hospitals (at least two, so every scale has a territory
    to compare with another), each looking after a run of neighbouring hospitals (same time zone, then code). Drawn
    from their own stream: the rest of the world is the same with or without them."""
    profile = cfg.business
    rng = stream(cfg.seed, "sales-reps")
    count = min(len(hospitals), max(2, round(len(hospitals) / HOSPITALS_PER_SALES_REP)))
    ordered = sorted(hospitals, key=lambda hospital: (hospital.zone, hospital.code))
    handles: set[str] = set()
    for number in range(count):
        who, handle, _ = names.person(rng, profile)
        while handle in handles:  # two reps with the same name get distinct addresses
            handle = f"{handle}{rng.randint(2, 9)}"
        handles.add(handle)
        rep_id = ids.next(m.SalesRep)
        timeline.insert(m.SalesRep, {"id": rep_id, "name": who, "email": f"{handle}@sales.{profile.email_domain}",
                                     "locale": _locale(rng, profile, 0.85), "status": "active"}, long_ago)  # fmt: skip
        # Contiguous, nearly equal slices of the ordered hospitals: every hospital has exactly one rep.
        for hospital in ordered[number * len(ordered) // count : (number + 1) * len(ordered) // count]:
            timeline.insert(m.SalesRepTerritory, {"id": ids.next(m.SalesRepTerritory), "sales_rep_id": rep_id,
                                                  "hospital_id": hospital.id},
                            max(long_ago, hospital.onboarded_at))  # fmt: skip


def customer_row(cfg: SimConfig, customer: Customer, hospital: Hospital, pin_hash: str) -> dict[str, object]:
    rng = stream(cfg.seed, f"customer:{customer.client_id}")
    full_name, handle, _ = names.person(rng, cfg.business)
    channel = rng.choices(
        ["hospital_onboarding", "referral", "web", "ads", "phone", "other"], weights=[60, 15, 10, 8, 5, 2]
    )[0]
    return {
        "id": customer.id,
        "client_id": customer.client_id,
        "external_id": f"hr:{hospital.code}:{customer.client_id}" if rng.random() < 0.3 else None,
        "full_name": full_name,
        "role": customer.role,
        "email": f"{handle}.{customer.client_id[-4:]}@mail.{cfg.business.email_domain}"
        if rng.random() < 0.85
        else None,
        "phone": names.phone(rng, cfg.business),
        "locale": _locale(rng, cfg.business, 0.93),
        "currency": customer.currency,
        "statement_email_consent": rng.random() < 0.4,
        "home_hospital_id": hospital.id,
        "acquisition_channel": channel,
        "status": "active",
        "pin_hash": pin_hash,
        "failed_pin_count": 0,
        "pin_locked_at": None,
        "payment_token": f"tok_{customer.client_id}_{rng.randrange(16**8):08x}" if customer.has_card else None,
        "card_brand": rng.choice(cfg.business.card_brands) if customer.has_card else None,
        "registered_at": customer.registered_at,
    }


def _locale(rng: random.Random, profile: SimProfile, share: float) -> str:
    """The business's language for `share` of the people, the other one for the rest (a bilingual business only)."""
    drawn = rng.random()  # drawn either way, so the rest of the world is the same
    locale = profile.business.locale
    return locale if drawn < share or not profile.bilingual else other_locale(locale)
