"""The two shipped businesses: a US vending network (USD, US time zones with Arizona and Hawaii, English, no clinics)
and the Russian clinics; with --mixed-currencies some accounts and deals are foreign, and every account keeps to
its currency."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from operational_api import models as m
from pulse.core.business import PROFILES
from simulator.config import SimConfig
from simulator.profiles import PROFILES_BY_NAME, US_ZONES, us_holiday
from tests.simulator.conftest import Simulated, simulate


@pytest.fixture(scope="module")
def us(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulated]:
    """A month of the US network around the March 2026 DST change at a tenth of its size, mixed currencies."""
    sim = simulate(tmp_path_factory.mktemp("us"), seed=7, days=31, scale=0.1, profile="us-vending",
                   mixed_currencies=True)  # fmt: skip
    yield sim
    sim.store.dispose()


def rows(sim: Simulated, sql: str) -> list[tuple[object, ...]]:
    with sim.store.read() as session:
        return [tuple(r) for r in session.execute(text(sql))]


def test_every_simulated_business_has_its_settings_profile() -> None:
    assert set(PROFILES_BY_NAME) == set(PROFILES)


def test_us_network_spans_every_us_time_zone_and_writes_english(us: Simulated) -> None:
    with us.store.read() as session:
        hospitals = session.execute(select(m.Hospital.name, m.Hospital.time_zone)).all()
        products = list(session.execute(select(m.Product.name)).scalars())
        contacts = Counter(session.execute(select(m.ReportContact.locale)).scalars())
        customers = Counter(session.execute(select(m.Customer.locale)).scalars())
    assert len(hospitals) == us.cfg.hospitals == 14
    assert {zone for _, zone in hospitals} == {zone for zone, _, _ in US_ZONES}
    assert all(name.isascii() for name, _ in hospitals) and all(name.isascii() for name in products)
    assert set(contacts) == {"en"} and set(customers) == {"en"}


def test_us_network_is_in_dollars_with_a_few_foreign_accounts(us: Simulated) -> None:
    assert rows(us, "SELECT DISTINCT currency FROM commission_plans") == [("USD",)]
    accounts = dict(rows(us, "SELECT currency, count(*) FROM customers GROUP BY currency"))
    assert set(accounts) == {"USD", "CAD", "MXN"}
    assert 0.05 < (accounts["CAD"] + accounts["MXN"]) / sum(accounts.values()) < 0.2
    # Every entry and vend is in its account's currency, and a price list exists in each.
    assert rows(us, """SELECT count(*) FROM account_entries e JOIN customers c ON c.id = e.customer_id
                       WHERE e.currency != c.currency""") == [(0,)]  # fmt: skip
    assert rows(us, """SELECT count(*) FROM vend_transactions v JOIN customers c ON c.id = v.customer_id
                       WHERE v.currency != c.currency""") == [(0,)]  # fmt: skip
    assert {c for (c,) in rows(us, "SELECT DISTINCT currency FROM product_prices")} == {"USD", "CAD", "MXN"}
    assert {c for (c,) in rows(us, "SELECT DISTINCT quote_currency FROM fx_rates")} == {"USD"}
    # A kit costs dollars, not roubles.
    ((low, high),) = rows(us, "SELECT min(unit_price), max(unit_price) FROM vend_transactions WHERE currency = 'USD'")
    assert 5 <= float(low) < float(high) <= 40  # type: ignore[arg-type]


def test_us_network_has_no_clinics(us: Simulated) -> None:
    with us.store.read() as session:
        for model in (m.Lead, m.Deal, m.Branch, m.Invoice, m.Pipeline):
            assert session.execute(select(func.count()).select_from(model)).scalar_one() == 0
    landing = us.settings.landing_dir
    assert not [path for feed in ("telephony", "ad_spend", "messages", "fx") for path in (landing / feed).glob("*")]


def test_shifts_stay_on_local_wall_time_across_dst(us: Simulated) -> None:
    """Kits are taken before the 08:00 shift in New York both before and after 8 March 2026 (UTC-5, then UTC-4);
    Phoenix does not change clocks."""
    found = rows(us, """SELECT v.device_time, h.time_zone FROM vend_transactions v
                        JOIN machines mc ON mc.id = v.machine_id JOIN hospitals h ON h.id = mc.hospital_id
                        WHERE h.time_zone IN ('America/New_York', 'America/Phoenix')""")  # fmt: skip
    by_period: dict[tuple[str, bool], Counter[int]] = {}
    for device_time, zone in found:
        at = dt.datetime.fromisoformat(str(device_time)).replace(tzinfo=dt.UTC)
        local = at.astimezone(ZoneInfo(str(zone)))
        by_period.setdefault((str(zone), local.date() >= dt.date(2026, 3, 9)), Counter())[local.hour] += 1
    for (zone, after), hours in by_period.items():
        assert hours.most_common(1)[0][0] == 7, (zone, after, hours.most_common(3))


def test_us_holidays() -> None:
    assert us_holiday(dt.date(2026, 11, 26))  # Thanksgiving: fourth Thursday
    assert us_holiday(dt.date(2026, 5, 25))  # Memorial Day: last Monday of May
    assert us_holiday(dt.date(2026, 7, 4)) and not us_holiday(dt.date(2026, 7, 3))


def test_mixed_currencies_put_foreign_deals_in_the_clinics(tmp_path_factory: pytest.TempPathFactory) -> None:
    sim = simulate(tmp_path_factory.mktemp("ru-mixed"), seed=5, days=20, scale=0.03, mixed_currencies=True)
    try:
        deals = dict(rows(sim, "SELECT currency, count(*) FROM deals GROUP BY currency"))
        assert deals.keys() == {"RUB", "USD", "EUR"} and deals["RUB"] > 5 * (deals["USD"] + deals["EUR"])
        assert rows(sim, """SELECT count(*) FROM account_entries e JOIN customers c ON c.id = e.customer_id
                            WHERE e.currency != c.currency""") == [(0,)]  # fmt: skip
        steps = dict(rows(sim, "SELECT code, funnel_step FROM pipeline_stages"))
        assert steps == {"new": "lead", "contacted": "contacted", "booked": "booked", "attended": "attended",
                         "won": "paid", "lost": "lost"}  # fmt: skip
    finally:
        sim.store.dispose()


def test_an_unknown_profile_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown business profile 'eu-pharma': one of ru-clinics, us-vending"):
        SimConfig(profile="eu-pharma")
