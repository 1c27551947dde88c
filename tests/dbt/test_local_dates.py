"""Local dates in any IANA time zone, across DST transitions: hospitals in America/New_York (DST), America/Phoenix
(no DST), Europe/Moscow (no DST since 2014) and Asia/Kathmandu (UTC+05:45; a zone nobody listed anywhere) each get a
machine and vends at 01:30 and 02:30 local on the spring-forward and fall-back days (both readings of an ambiguous
01:30), and just before and after local midnight at a month's end. Every vend must land on the local day and month
zoneinfo gives for its instant, in the vending and commission marts."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from extractors.feeds import load_feeds
from extractors.pipeline import extract
from operational_api.models import Customer, Hospital, Machine, Product
from pulse.dbt.runner import DbtSession
from tests.dbt.activity import sell
from tests.extractors.conftest import Platform

pytestmark = pytest.mark.xdist_group("dbt_project")

ZONES = ("America/New_York", "America/Phoenix", "Europe/Moscow", "Asia/Kathmandu")
# (local wall-clock time, fold): 2026-03-08 and 2026-11-01 are the US transition days (02:00 local); 02:30 on the
# spring day does not exist in New York and 01:30 on the fall day happens twice (fold 0: EDT, fold 1: EST).
LOCAL_TIMES = [
    (dt.datetime(2026, 3, 7, 23, 30), 0),
    (dt.datetime(2026, 3, 8, 0, 30), 0),
    (dt.datetime(2026, 3, 8, 1, 30), 0),
    (dt.datetime(2026, 3, 8, 2, 30), 0),
    (dt.datetime(2026, 10, 31, 23, 30), 0),
    (dt.datetime(2026, 11, 1, 0, 30), 0),
    (dt.datetime(2026, 11, 1, 1, 30), 0),
    (dt.datetime(2026, 11, 1, 1, 30), 1),
    (dt.datetime(2026, 11, 1, 2, 30), 0),
]
UTC = dt.UTC


def instants(zone: str) -> list[dt.datetime]:
    """The UTC instants of the local times in `zone` (a time that does not exist reads as zoneinfo reads it)."""
    tz = ZoneInfo(zone)
    return [local.replace(tzinfo=tz, fold=fold).astimezone(UTC) for local, fold in LOCAL_TIMES]


def add_hospitals_with_vends(platform: Platform) -> dict[str, tuple[int, int]]:
    """A hospital and a machine per zone, one 1-kit vend (and its debit) at each instant: {zone: (hospital, machine)}."""
    placed = {}
    with platform.store.write() as session:
        model = session.scalars(select(Hospital).where(Hospital.commission_plan_id.is_not(None)).limit(1)).one()
        customer = session.scalars(select(Customer).order_by(Customer.id).limit(1)).one()
        product = session.scalars(select(Product).order_by(Product.id).limit(1)).one()
        for n, zone in enumerate(ZONES):
            hospital = Hospital(
                code=f"TZ{n}", name=f"Hospital in {zone}", city=zone.split("/")[1], region="test", time_zone=zone,
                commission_plan_id=model.commission_plan_id,
            )  # fmt: skip
            session.add(hospital)
            session.flush()
            machine = Machine(serial=f"TZ-MACHINE-{n}", hospital_id=hospital.id, status="active")
            session.add(machine)
            session.flush()
            for i, at in enumerate(instants(zone)):
                sell(session, f"tz-{n}-{i}", machine_id=machine.id, customer_id=customer.id,
                     product_id=product.id, quantity=1, unit_price=Decimal("100.00"), at=at)  # fmt: skip
            placed[zone] = (hospital.id, machine.id)
    return placed


def test_vends_land_on_their_local_day_and_month_in_any_zone(platform: Platform) -> None:
    placed = add_hospitals_with_vends(platform)
    extract(platform.settings)
    load_feeds(platform.client(), platform.settings.resolved_landing_url)
    build = DbtSession(platform.settings).build()
    assert build.success, build.failures
    client = platform.client()

    def per_period(mart: str, period: str, count: str, key: str, value: int) -> dict[dt.date, int]:
        """{period: count} of one machine's or hospital's rows of a mart, periods with none left out."""
        rows = client.query(
            f"SELECT {period}, sum({count}) AS n FROM marts.{mart} WHERE {key} = {{v:Int64}} GROUP BY {period}"
            " HAVING n > 0",
            parameters={"v": value},
        ).result_rows
        return dict(rows)

    for zone, (hospital_id, machine_id) in placed.items():
        local = [at.astimezone(ZoneInfo(zone)) for at in instants(zone)]
        days = Counter(t.date() for t in local)
        months = Counter(t.date().replace(day=1) for t in local)
        assert len(days) >= 4 and len(months) == 3, "the instants must straddle days and months"
        assert per_period("mart_vending_daily", "day", "vends", "machine_id", machine_id) == days, zone
        commissions = per_period("mart_hospital_commissions_monthly", "sales_month", "kits_sold", "hospital_id",
                                 hospital_id)  # fmt: skip
        assert commissions == months, zone
        by_kit = per_period("mart_hospital_kit_sales_monthly", "sales_month", "kits_sold", "hospital_id", hospital_id)
        assert by_kit == months, zone
