"""The clinic funnel's metrics as the layer compiles them (pulse/metrics.py), on hand-computed rows in a table built
from each mart's contract, on the real embedded warehouse: every conversion and cost is a ratio of sums (a total
over sources, not an average of their ratios), and insured journeys are in no primary figure."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import pytest
import yaml

from pulse.metrics import MARTS_DIR, compile_metrics, named
from tests.conftest import WarehouseProcess

MONTHLY = "mart_clinic_funnel_monthly"
JOURNEYS = "mart_clinic_journeys"


@pytest.fixture
def database(warehouse: WarehouseProcess) -> Iterator[tuple[Any, str]]:
    client = warehouse.client()
    name = f"clinic_{uuid.uuid4().hex[:8]}"
    client.command(f"CREATE DATABASE {name}")
    try:
        yield client, name
    finally:
        client.command(f"DROP DATABASE {name}")


def create_mart(client: Any, database: str, model: str) -> None:
    """The mart as its contract declares it (column names and types from the YAML)."""
    [declared] = yaml.safe_load((MARTS_DIR / f"{model}.yml").read_text())["models"]
    columns = ", ".join(f"`{c['name']}` {c['data_type']}" for c in declared["columns"])
    client.command(f"CREATE TABLE {database}.{model} ({columns}) ENGINE = MergeTree ORDER BY tuple()")


def values(
    client: Any, database: str, model: str, names: Sequence[str], by: Sequence[str] = ()
) -> list[dict[str, Any]]:
    query = compile_metrics(named(model, *names), by, {})
    result = client.query(query.sql.replace(f"marts.{model}", f"{database}.{model}"), parameters=query.parameters)
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


CONVERSIONS = {  # metric: (numerator, denominator) columns
    "overall_lead_to_booking_rate": ("bookings", "primary_leads"),
    "overall_booking_to_show_up_rate": ("show_ups", "bookings"),
    "overall_show_up_to_treated_rate": ("treated", "show_ups"),
    "overall_lead_to_show_up_rate": ("show_ups", "primary_leads"),
    "overall_lead_to_treated_rate": ("treated", "primary_leads"),
    "overall_booking_to_treated_rate": ("treated", "bookings"),
}
COSTS = {"cost_per_booking": "bookings", "cost_per_show_up": "show_ups", "cost_per_patient": "treated"}


def test_conversions_and_costs_are_ratios_of_the_sums(database: tuple[Any, str]) -> None:
    client, name = database
    create_mart(client, name, MONTHLY)
    columns = ["month", "channel", "campaign_id", "leads", "primary_leads", "bookings", "show_ups", "treated",
               "spend_reporting"]  # fmt: skip
    march, april = dt.date(2026, 3, 1), dt.date(2026, 4, 1)
    rows = [
        (march, "vk_ads", 5, 10, 9, 5, 4, 2, Decimal("10000.00")),
        (march, "call", 0, 12, 11, 6, 5, 3, Decimal("0.00")),
        (april, "vk_ads", 5, 0, 0, 0, 0, 0, Decimal("500.00")),  # spend with no leads yet
    ]
    client.insert(f"{name}.{MONTHLY}", rows, column_names=columns)
    metrics = [*CONVERSIONS, *COSTS, "spend", "total_treated"]
    [total] = values(client, name, MONTHLY, metrics)
    # Hand-computed totals: 20 primary leads, 11 bookings, 9 show-ups, 5 treated, 10,500.00 spent.
    sums = {"primary_leads": 20, "bookings": 11, "show_ups": 9, "treated": 5}
    for metric, (numerator, denominator) in CONVERSIONS.items():
        assert total[metric] == pytest.approx(sums[numerator] / sums[denominator], rel=1e-12), metric
    for metric, denominator in COSTS.items():
        assert total[metric] == pytest.approx(10500 / sums[denominator], rel=1e-12), metric
    assert (total["overall_lead_to_booking_rate"], total["cost_per_patient"]) == (0.55, 2100)
    assert total["spend"] == Decimal("10500.00") and total["total_treated"] == 5
    by_channel = {r["channel"]: r for r in values(client, name, MONTHLY, metrics, ["channel"])}
    assert by_channel["vk_ads"]["cost_per_patient"] == pytest.approx(10500 / 2, rel=1e-12)
    assert by_channel["vk_ads"]["overall_lead_to_booking_rate"] == pytest.approx(5 / 9, rel=1e-12)
    assert by_channel["call"]["cost_per_booking"] == 0
    by_month = {r["month"]: r for r in values(client, name, MONTHLY, metrics, ["month"])}
    assert by_month[april]["cost_per_patient"] is None  # no patients: no cost, not a division by zero
    assert by_month[april]["overall_lead_to_booking_rate"] is None


def test_insured_journeys_are_in_no_primary_figure(database: tuple[Any, str]) -> None:
    client, name = database
    create_mart(client, name, JOURNEYS)
    columns = ["journey_id", "branch_name", "is_insured", "showed_up", "is_treated", "treatment_visits",
               "treatment_revenue_reporting", "days_to_visit", "days_to_treatment"]  # fmt: skip
    rows = [
        (1, "North", False, True, True, 2, Decimal("13000.00"), 3, 10),
        (2, "North", False, True, False, 0, Decimal("0.00"), 5, None),
        (3, "North", False, False, False, 0, Decimal("0.00"), None, None),
        (4, "North", True, True, True, 1, Decimal("4000.00"), 1, 6),  # insured: apart, whatever it did later
        (5, "South", False, True, True, 1, Decimal("6500.00"), 2, 4),
        (6, "South", True, False, False, 0, Decimal("0.00"), None, None),
    ]
    client.insert(f"{name}.{JOURNEYS}", rows, column_names=columns)
    metrics = ["total_bookings", "total_show_ups", "total_treated", "total_insured_bookings", "total_insured_show_ups",
               "total_treatment_visits", "treatment_revenue", "show_up_rate", "show_up_to_treated_rate",
               "booking_to_treated_rate", "treatment_revenue_per_patient", "avg_days_to_visit",
               "avg_days_to_treatment"]  # fmt: skip
    [total] = values(client, name, JOURNEYS, metrics)
    assert (total["total_bookings"], total["total_show_ups"], total["total_treated"]) == (4, 3, 2)
    assert (total["total_insured_bookings"], total["total_insured_show_ups"]) == (2, 1)
    assert total["total_treatment_visits"] == 3 and total["treatment_revenue"] == Decimal("19500.00")
    assert total["show_up_rate"] == pytest.approx(3 / 4, rel=1e-12)
    assert total["show_up_to_treated_rate"] == pytest.approx(2 / 3, rel=1e-12)
    assert total["booking_to_treated_rate"] == pytest.approx(2 / 4, rel=1e-12)
    assert total["treatment_revenue_per_patient"] == pytest.approx(19500 / 2, rel=1e-12)
    assert total["avg_days_to_visit"] == pytest.approx((3 + 5 + 2) / 3, rel=1e-12)
    assert total["avg_days_to_treatment"] == pytest.approx((10 + 4) / 2, rel=1e-12)
    by_branch = {r["branch_name"]: r for r in values(client, name, JOURNEYS, metrics, ["branch_name"])}
    assert by_branch["South"]["show_up_rate"] == 1 and by_branch["South"]["total_insured_bookings"] == 1
    assert by_branch["North"]["show_up_to_treated_rate"] == pytest.approx(1 / 2, rel=1e-12)
