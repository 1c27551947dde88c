"""Sales reps in Superset: each rep's user sees the hospital dashboards with the rows of their territory's hospitals
only (Superset's row-level security through the territory's hospital roles, and the warehouse identity of exactly
those hospitals underneath), whatever they ask for: another hospital's rows by filter come back empty, datasets they
were not given stay closed, and ad-hoc SQL that would widen the filter is refused."""

from __future__ import annotations

from typing import Any

import pytest

from pulse.superset.api import SupersetClient, SupersetError
from pulse.superset.security import SalesRep, load_security
from tests.pulse.superset.conftest import Imported, SupersetStack
from tests.pulse.superset.test_chart_data import filter_options_query, rows, scalar

pytestmark = [pytest.mark.superset, pytest.mark.xdist_group("superset")]
HOSPITAL_DASHBOARDS = {"hospital-commissions", "vending-operations", "machine-stock"}


def territories(stack: SupersetStack) -> dict[int, dict[int, str]]:
    """sales_rep_id -> {hospital_id: hospital_name} of their territory, from the warehouse."""
    out: dict[int, dict[int, str]] = {}
    for rep_id, hospital_id, name in (
        stack.warehouse_client()
        .query("SELECT sales_rep_id, hospital_id, hospital_name FROM marts.dim_sales_rep_hospitals")
        .result_rows
    ):
        out.setdefault(rep_id, {})[hospital_id] = name
    return out


def dataset_id(client: SupersetClient, table: str) -> int:
    return next(d["id"] for d in client.listing("dataset") if d["table_name"] == table)


def ask(client: SupersetClient, dataset: int, column: str, **query: Any) -> list[dict[str, Any]]:
    body = filter_options_query(dataset, column)
    body["queries"][0].update(query)
    data: list[dict[str, Any]] = client.post("/api/v1/chart/data", body)["result"][0]["data"]
    return data


def test_a_rep_sees_only_their_territory(
    superset_stack: SupersetStack, imported: Imported, charts: dict[str, int]
) -> None:
    reps = territories(superset_stack)
    every = dict(superset_stack.warehouse_client().query("SELECT hospital_id, hospital_name FROM marts.dim_hospitals")
                 .result_rows)  # fmt: skip
    assert len(reps) >= 2 and all(set(h) < set(every) for h in reps.values())  # each rep has hospitals to be kept from
    for rep_id, territory in sorted(reps.items()):
        username = f"rep_{rep_id}"
        rep = superset_stack.login(username)
        assert {d["slug"] for d in rep.listing("dashboard")} == HOSPITAL_DASHBOARDS
        names = set(territory.values())
        assert {r["hospital_name"] for r in rows(superset_stack, charts, "vend_top_hospitals", username)} <= names
        assert {r["hospital_name"] for r in rows(superset_stack, charts, "ms_stock", username)} <= names
        [total] = rows(superset_stack, charts, "vend_revenue", username)
        ids = ", ".join(str(i) for i in territory)
        assert total["revenue"] == pytest.approx(
            scalar(
                superset_stack,
                f"SELECT sum(revenue_reporting) FROM marts.mart_vending_daily WHERE hospital_id IN ({ids})",
            )
        )
        # The dashboards' hospital filter offers their hospitals, all of them, and no other.
        vending = dataset_id(rep, "mart_vending_daily")
        assert {r["hospital_name"] for r in ask(rep, vending, "hospital_name")} == names

        # The rep asks for another hospital's rows outright: by id, by name, on every hospital dataset.
        others = {hid: name for hid, name in every.items() if hid not in territory}
        for table in ("mart_vending_daily", "mart_machine_daily", "mart_machine_product_daily", "mart_machine_stock",
                      "mart_hospital_commissions_monthly"):  # fmt: skip
            dataset = dataset_id(rep, table)
            by_id = [{"col": "hospital_id", "op": "IN", "val": sorted(others)}]
            assert ask(rep, dataset, "hospital_name", filters=by_id) == [], table
            by_name = [{"col": "hospital_name", "op": "IN", "val": sorted(others.values())}]
            assert ask(rep, dataset, "hospital_name", filters=by_name) == [], table
            assert {r["hospital_name"] for r in ask(rep, dataset, "hospital_name")} <= names

        # The sales rep mart (and every other mart) was not given to them.
        with pytest.raises(SupersetError, match=r"-> 40[34]"):
            ask(rep, dataset_id(superset_stack.admin(), "mart_sales_rep_machine_monthly"), "sales_rep_name")
        with pytest.raises(SupersetError, match=r"-> 40[34]"):
            rows(superset_stack, charts, "exec_vending_revenue", username)
        # SQL that would widen Superset's filter is refused before it runs.
        widen = {"col": {"sqlExpression": "1 OR 1", "label": "x"}, "op": "IS NOT NULL"}
        with pytest.raises(SupersetError, match=r"-> 403: .*Ad-hoc SQL is not allowed"):
            ask(rep, vending, "hospital_name", filters=[widen])


def test_the_sales_rep_mart_is_a_dataset_for_full_data_roles(superset_stack: SupersetStack, imported: Imported) -> None:
    executive = superset_stack.login("executive")
    dataset = dataset_id(executive, "mart_sales_rep_machine_monthly")
    body = filter_options_query(dataset, "sales_rep_name")
    body["queries"][0].update(metrics=["total_kits_sold"], orderby=[["total_kits_sold", False]])
    data = executive.post("/api/v1/chart/data", body)["result"][0]["data"]
    expected = scalar(superset_stack, "SELECT sum(kits_sold) FROM marts.mart_sales_rep_machine_monthly")
    assert len(data) >= 2 and sum(r["total_kits_sold"] for r in data) == expected


def test_a_rep_who_left_keeps_no_data_role() -> None:
    spec = load_security()
    spec.sales_reps = [
        SalesRep(1, "Anna Petrova", "anna@sales.example.com", "active", (1, 2)),
        SalesRep(2, "Ivan Sidorov", "ivan@sales.example.com", "inactive", (3,)),
        SalesRep(3, "Olga Smirnova", "olga@sales.example.com", "active", ()),
    ]
    from pulse.superset.security import Hospital

    spec.hospitals = [Hospital(i, f"H00{i}", f"Hospital {i}") for i in (1, 2, 3)]
    users = {u.username: u for u in spec.sales_rep_users()}
    assert users["rep_1"].roles == ("Gamma", "sales_rep", "hospital_1", "hospital_2") and users["rep_1"].active
    assert users["rep_1"].email == "anna@sales.example.com"
    for gone in ("rep_2", "rep_3"):
        assert users[gone].roles == ("Gamma",) and not users[gone].active
