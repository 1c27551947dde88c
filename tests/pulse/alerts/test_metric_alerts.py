"""Metric alerts on the warehouse, the way production runs them: a simulated month in which one hospital's staff buy
80% fewer kits on the last day (`pulse simulate --sales-drop H002:80`), extracted and loaded into a real warehouse
server, the marts the rules read built by dbt, then `evaluate_metric_rules` on the store as the `pulse_elt` DAG calls
it after its build. Independent SQL on the marts says what each rule should find.

The warehouse is built once for the module; each test gets its own copy of the simulated store (the SQLite file), so
one test's rules and alerts do not meet another's.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from extractors.feeds import load_feeds
from extractors.pipeline import extract
from operational_api.app import create_app
from operational_api.db import Store
from operational_api.models import Alert, AlertNotification, AlertRule, Hospital
from operational_api.services.alert_rules import create_defaults, default_rules, rule_before_write
from pulse.alerts.metric_rules import evaluate_metric_rules, latest_complete_day
from pulse.core.settings import Settings
from pulse.dbt.runner import run_dbt
from simulator.config import SalesDrop
from tests.conftest import WarehouseProcess, free_port
from tests.operational_api.factories import keys_for_every_scope
from tests.simulator.conftest import END, simulate
from warehouse.identities import WarehouseUnavailable

SEED = 1  # four hospitals at this scale; H002's last day is the only hospital-day down by 40% or more on its weekday
DROPPED = "H002"
DAY = END  # 2026-03-31, a Tuesday: the last simulated day
NOW = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(9), dt.UTC)  # the next morning everywhere in Russia
MARTS = "+mart_vending_daily +mart_receivables"  # what the rules below read (a whole build takes minutes)
UTC = dt.UTC


@dataclass
class Built:
    home: Path
    pristine: Path  # the simulated store as simulated, copied for each test
    server: WarehouseProcess

    def sql(self, query: str, **parameters: Any) -> list[tuple[Any, ...]]:
        """Independent SQL on the marts, as the warehouse's admin."""
        return [tuple(row) for row in self.server.client().query(query, parameters=parameters).result_rows]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    home = tmp_path_factory.mktemp("metric-alerts") / "home"
    sim = simulate(home, seed=SEED, days=30, scale=0.03, sales_drop=SalesDrop(DROPPED, 80))
    sim.store.dispose()  # a checkpointed, closed SQLite file to copy
    pristine = home / "pristine.db"
    shutil.copy(home / "ops.db", pristine)
    port = free_port()
    settings = Settings(
        home=home, ops_database_url=f"sqlite:///{home / 'ops.db'}", clickhouse_url=f"http://default:@127.0.0.1:{port}"
    )
    server = WarehouseProcess(home=home, port=port).start()
    try:
        extract(settings)
        load_feeds(server.client(), settings.resolved_landing_url)
        assert run_dbt(["run", "--select", MARTS], settings) == 0, "dbt run failed: see the output above"
        yield Built(home, pristine, server)
    finally:
        server.stop()


@dataclass
class Case:
    settings: Settings
    store: Store
    built: Built

    def rule(self, name: str, **params: Any) -> int:
        """A metric rule, checked as the API checks it."""
        with self.store.write() as session:
            values = rule_before_write(session, {"name": name, "kind": "metric", "severity": "warning",
                                                 "params": params, "emails": ["ops@metric.test"]}, None)  # fmt: skip
            rule = AlertRule(enabled=True, cooldown_minutes=60, remind_minutes=24 * 60, **values)
            session.add(rule)
            session.flush()
            return rule.id

    def rule_id(self, name: str) -> int:
        with self.store.read() as session:
            return session.scalars(select(AlertRule.id).where(AlertRule.name == name)).one()

    def alerts(self, rule_id: int) -> list[Alert]:
        with self.store.read() as session:
            alerts = list(session.scalars(select(Alert).where(Alert.rule_id == rule_id).order_by(Alert.id)).all())
            session.expunge_all()
        return alerts

    def hospital(self, code: str) -> tuple[int, str]:
        with self.store.read() as session:
            row = session.execute(select(Hospital.id, Hospital.name).where(Hospital.code == code)).one()
        return row[0], row[1]

    def hospital_ids(self) -> dict[int, str]:
        with self.store.read() as session:
            return {r[0]: r[1] for r in session.execute(select(Hospital.id, Hospital.code)).all()}


@pytest.fixture
def case(built: Built, tmp_path: Path) -> Iterator[Case]:
    shutil.copy(built.pristine, tmp_path / "ops.db")
    settings = Settings(home=built.home, ops_database_url=f"sqlite:///{tmp_path / 'ops.db'}",
                        clickhouse_url=f"http://default:@127.0.0.1:{built.server.port}")  # fmt: skip
    store = Store(settings=settings)
    yield Case(settings, store, built)
    store.dispose()


def weekday_kits(built: Built, hospital_id: int) -> tuple[int, list[int]]:
    """A hospital's kits on DAY and on the four Tuesdays before it (0 for a day without rows)."""
    days = [DAY - dt.timedelta(weeks=k) for k in range(5)]
    rows = dict(built.sql(
        "SELECT day, sum(kits_sold) FROM marts.mart_vending_daily WHERE hospital_id = {h:Int64} "
        "AND day IN {days:Array(Date)} GROUP BY day", h=hospital_id, days=days))  # fmt: skip
    kits = [int(rows.get(day, 0)) for day in days]
    return kits[0], kits[1:]


def test_a_hospitals_sales_drop_alerts_that_hospital_alone_once_until_it_clears(case: Case) -> None:
    with case.store.write() as session:
        create_defaults(session, default_rules(case.settings))  # the rules `pulse up` creates, valid as they are
    dropped_id, dropped_name = case.hospital(DROPPED)
    kits_rule = case.rule_id("Hospital kits down")

    first = evaluate_metric_rules(case.store, case.settings, NOW)

    (alert,) = case.alerts(kits_rule)  # one alert: the hospital that sold less, none of the others
    assert (alert.subject, alert.hospital_id, alert.status) == (f"hospital_id:{dropped_id}", dropped_id, "open")
    value, earlier = weekday_kits(case.built, dropped_id)
    average = sum(earlier) / 4
    assert value < average * 0.6, "the simulated drop is a drop"
    for other_id, code in case.hospital_ids().items():  # the others sold as usual on their Tuesday
        other, before = weekday_kits(case.built, other_id)
        assert code == DROPPED or other >= sum(before) / 4 * 0.6, (code, other, before)
    assert alert.message == (
        f"Kits sold at {dropped_name} on 2026-03-31 (Tuesday): {value}, down {1 - value / average:.0%} from the 4 "
        f"previous Tuesdays' average of {average:,.1f}."
    )
    assert alert.details is not None
    assert alert.details["value"] == value and alert.details["average"] == pytest.approx(average)
    assert alert.details["compared_days"] == ["2026-03-24", "2026-03-17", "2026-03-10", "2026-03-03"]
    assert first.raised >= 1

    # The next hourly build: the same day, still down: the same alert, no second one and no new notice.
    second = evaluate_metric_rules(case.store, case.settings, NOW + dt.timedelta(hours=1))
    assert second.raised == 0 and second.reopened == 0
    (same,) = case.alerts(kits_rule)
    assert (same.id, same.status, same.occurrences) == (alert.id, "open", 1)
    assert same.last_seen_at == NOW + dt.timedelta(hours=1)

    # A line the day does not cross (more than 99% down): the condition no longer holds, the alert resolves.
    with case.store.write() as session:
        rule = session.get(AlertRule, kits_rule)
        assert rule is not None
        rule.params = {**rule.params, "threshold": 99}
    third = evaluate_metric_rules(case.store, case.settings, NOW + dt.timedelta(hours=2))
    (resolved,) = case.alerts(kits_rule)
    assert (resolved.id, resolved.status, resolved.resolved_at) == (alert.id, "resolved", NOW + dt.timedelta(hours=2))
    assert third.resolved >= 1
    with case.store.read() as session:
        events = session.scalars(
            select(AlertNotification.event).where(AlertNotification.alert_id == alert.id).order_by(AlertNotification.id)
        ).all()
    assert list(events) == ["raised", "resolved"]  # told once when raised, once when cleared (to the owner)


def test_a_machine_without_a_row_on_the_day_counts_as_selling_nothing(case: Case) -> None:
    # Machines that sold on the Tuesdays before and have no row at all on the last one (the simulator always breaks
    # one down before the end of the window and leaves it down).
    silent = dict(case.built.sql(
        "SELECT machine_serial, sum(kits_sold) FROM marts.mart_vending_daily WHERE day IN {days:Array(Date)} "
        "GROUP BY machine_serial HAVING machine_serial NOT IN (SELECT machine_serial FROM marts.mart_vending_daily "
        "WHERE day = {day:Date}) AND sum(kits_sold) > 0",
        days=[DAY - dt.timedelta(weeks=k) for k in range(1, 5)], day=DAY,
    ))  # fmt: skip
    assert silent, "the simulated month has a machine that sold before and not on the last day"
    rule_id = case.rule("Machine kits down", metric="mart_vending_daily.total_kits_sold", by="machine_serial",
                        condition="drop_vs_weekday_average", threshold=40)  # fmt: skip
    evaluate_metric_rules(case.store, case.settings, NOW)
    found = {a.subject: a for a in case.alerts(rule_id)}
    for serial, total in silent.items():
        alert = found[f"machine_serial:{serial}"]
        assert alert.details is not None and alert.details["value"] == 0
        assert alert.hospital_id is None  # a machine is not a hospital
        assert f"Kits sold at {serial} on 2026-03-31 (Tuesday): 0, down 100% from " in alert.message
        assert f"average of {total / 4:,.1f}." in alert.message


def test_lines_are_checked_on_the_metric_as_the_metrics_layer_defines_it(case: Case) -> None:
    # The decline rate of a hospital's day: declines over requests of all its machines together, not an average of
    # the machines' rates.
    rates = {
        hospital_id: declines / requests
        for hospital_id, declines, requests in case.built.sql(
            "SELECT hospital_id, sum(declines), sum(authorisations) FROM marts.mart_vending_daily "
            "WHERE day = {day:Date} GROUP BY hospital_id HAVING sum(authorisations) > 0", day=DAY)
    }  # fmt: skip
    overdue = {
        name: float(amount)
        for name, amount in case.built.sql(
            "SELECT counterparty_name, sum(if(days_overdue > 0, outstanding_reporting, 0)) FROM marts.mart_receivables "
            "GROUP BY counterparty_name")
    }  # fmt: skip
    line = sorted(rates.values())[len(rates) // 2]  # some hospitals above it, some not
    declines = case.rule("Declines", metric="mart_vending_daily.decline_rate", by="hospital_id", condition="above",
                         threshold=line, period="day")  # fmt: skip
    owed = case.rule("Owed", metric="mart_receivables.overdue", by="counterparty_name", condition="above",
                     threshold=1000, period="all")  # fmt: skip
    evaluate_metric_rules(case.store, case.settings, NOW)

    fired = {a.hospital_id: a for a in case.alerts(declines)}
    assert set(fired) == {h for h, rate in rates.items() if rate > line} != set()
    for hospital_id, alert in fired.items():
        assert alert.details is not None and alert.details["value"] == pytest.approx(rates[hospital_id])
        assert f"on 2026-03-31 (Tuesday): {rates[hospital_id]:.1%}, above the line of {line:.1%}." in alert.message
    owing = {a.subject: a for a in case.alerts(owed)}
    assert set(owing) == {f"counterparty_name:{n}" for n, amount in overdue.items() if amount > 1000} != set()
    for subject, alert in owing.items():
        amount = overdue[subject.removeprefix("counterparty_name:")]
        assert alert.message.endswith(f" to date: RUB {amount:,.0f}, above the line of RUB 1,000.")
        assert alert.details is not None and alert.details["value"] == pytest.approx(amount)


def test_below_counts_a_silent_subject_as_zero_and_a_month_is_the_month_to_date(case: Case) -> None:
    def kits(start: dt.date, end: dt.date) -> dict[int, int]:
        return {hospital_id: int(total) for hospital_id, total in case.built.sql(
            "SELECT hospital_id, sum(kits_sold) FROM marts.mart_vending_daily WHERE day >= {start:Date} "
            "AND day <= {end:Date} GROUP BY hospital_id", start=start, end=end)}  # fmt: skip

    weeks_before = kits(DAY - dt.timedelta(weeks=4), DAY)
    on_the_day = {h: kits(DAY, DAY).get(h, 0) for h in weeks_before}  # a hospital seen before, silent now: 0
    in_march = kits(DAY.replace(day=1), DAY)
    few = sorted(on_the_day.values())[1] + 1  # some hospitals below it, some not
    many = sorted(in_march.values())[len(in_march) // 2]
    below = case.rule("Few kits", metric="mart_vending_daily.total_kits_sold", by="hospital_id", condition="below",
                      threshold=few, period="day")  # fmt: skip
    above = case.rule("Many kits", metric="mart_vending_daily.total_kits_sold", by="hospital_id", condition="above",
                      threshold=many, period="month")  # fmt: skip
    evaluate_metric_rules(case.store, case.settings, NOW)

    fired = {a.hospital_id: a for a in case.alerts(below)}
    assert set(fired) == {h for h, total in on_the_day.items() if total < few} != set()
    dropped_id, dropped_name = case.hospital(DROPPED)
    assert fired[dropped_id].message == (
        f"Kits sold at {dropped_name} on 2026-03-31 (Tuesday): {on_the_day[dropped_id]}, below the line of {few}."
    )
    month = {a.hospital_id: a for a in case.alerts(above)}
    assert set(month) == {h for h, total in in_march.items() if total > many} != set()
    for hospital_id, alert in month.items():
        assert alert.message.endswith(f" in March 2026 to 2026-03-31: {in_march[hospital_id]:,}, above the line of "
                                      f"{many:,}.")  # fmt: skip
        assert alert.details is not None
        assert (alert.details["from"], alert.details["to"]) == ("2026-03-01", "2026-03-31")


def test_a_ratio_drop_compares_with_the_ratio_of_the_weeks_before_not_an_average_of_days(case: Case) -> None:
    def rates(days: list[dt.date]) -> dict[int, float]:
        return {
            hospital_id: declines / requests
            for hospital_id, declines, requests in case.built.sql(
                "SELECT hospital_id, sum(declines), sum(authorisations) FROM marts.mart_vending_daily "
                "WHERE day IN {days:Array(Date)} GROUP BY hospital_id HAVING sum(authorisations) > 0", days=days)
        }  # fmt: skip

    on_the_day = rates([DAY])
    before = rates([DAY - dt.timedelta(weeks=k) for k in range(1, 5)])  # declines over requests of all four days
    rule_id = case.rule("Declines down", metric="mart_vending_daily.decline_rate", by="hospital_id",
                        condition="drop_vs_weekday_average", threshold=50)  # fmt: skip
    evaluate_metric_rules(case.store, case.settings, NOW)

    fired = {a.hospital_id: a for a in case.alerts(rule_id)}
    expected = {h for h, rate in before.items() if h in on_the_day and on_the_day[h] < rate * 0.5}
    assert set(fired) == expected != set()  # a hospital without requests on the day has no rate: no finding
    for hospital_id, alert in fired.items():
        assert alert.details is not None and alert.details["average"] == pytest.approx(before[hospital_id])
        assert alert.message.endswith(f"from {before[hospital_id]:.1%} on the 4 previous Tuesdays.")


def test_a_broken_rule_is_logged_and_the_others_still_run(case: Case, caplog: pytest.LogCaptureFixture) -> None:
    good = case.rule("Hospital kits down, checked", metric="mart_vending_daily.total_kits_sold", by="hospital_id",
                     condition="drop_vs_weekday_average", threshold=40)  # fmt: skip
    with case.store.write() as session:  # written when the metric existed; the marts have changed since
        session.add(AlertRule(name="Gone", kind="metric", severity="warning", enabled=True, emails=[], webhooks=[],
                              cooldown_minutes=60, remind_minutes=60,
                              params={"metric": "mart_vending_daily.total_gone", "by": "hospital_id",
                                      "condition": "above", "threshold": 1}))  # fmt: skip
    with caplog.at_level(logging.ERROR, logger="pulse.alerts.metric_rules"):
        observed = evaluate_metric_rules(case.store, case.settings, NOW)
    assert observed.raised == 1
    assert [a.subject for a in case.alerts(good)] == [f"hospital_id:{case.hospital(DROPPED)[0]}"]
    assert "metric alert rule" in caplog.text and "(Gone) is invalid now: unknown metric" in caplog.text


def test_an_unreachable_warehouse_fails_loudly_and_changes_nothing(case: Case) -> None:
    rule_id = case.rule("Kits down", metric="mart_vending_daily.total_kits_sold", by="hospital_id",
                        condition="drop_vs_weekday_average", threshold=40)  # fmt: skip
    nowhere = case.settings.model_copy(update={"clickhouse_url": f"http://default:@127.0.0.1:{free_port()}"})
    with pytest.raises(WarehouseUnavailable, match="metric alert rules cannot be evaluated: the warehouse at "):
        evaluate_metric_rules(case.store, nowhere, NOW)
    assert case.alerts(rule_id) == []


def test_the_simulators_sales_drop_is_one_hospital_over_the_last_days() -> None:
    drop = SalesDrop.parse("H002:80:2")
    assert drop == SalesDrop("H002", 80.0, 2)
    assert [drop.factor(DAY - dt.timedelta(days=n), DAY) for n in range(3)] == [pytest.approx(0.2)] * 2 + [1.0]
    for bad in ("H002", "H002:x", "H002:0", "H002:80:0", ":80"):
        with pytest.raises(ValueError, match="H002:80"):
            SalesDrop.parse(bad)


def test_the_latest_complete_day_is_over_in_every_zone() -> None:
    moscow = ["Europe/Moscow", "Asia/Vladivostok"]
    assert latest_complete_day(dt.datetime(2026, 4, 1, 0, 30, tzinfo=UTC), moscow) == dt.date(2026, 3, 31)
    assert latest_complete_day(dt.datetime(2026, 3, 31, 20, 30, tzinfo=UTC), moscow) == dt.date(2026, 3, 30)
    # 01:00 in New York is 19:00 the day before in Honolulu: that day is not over there yet.
    us = ["America/New_York", "Pacific/Honolulu"]
    assert latest_complete_day(dt.datetime(2026, 12, 6, 6, 0, tzinfo=UTC), us) == dt.date(2026, 12, 4)
    assert latest_complete_day(dt.datetime(2026, 12, 6, 10, 0, tzinfo=UTC), us) == dt.date(2026, 12, 5)


def test_the_api_refuses_a_metric_rule_the_metrics_layer_cannot_answer(case: Case) -> None:
    with case.store.write() as session:
        admin = keys_for_every_scope(session)["admin"]
    app = create_app(store=case.store, settings=case.settings)
    rule = {"name": "Kits", "kind": "metric", "params": {"metric": "mart_vending_daily.total_kits_sold",
                                                           "by": "hospital_id", "condition": "drop_vs_weekday_average",
                                                           "threshold": 40}}  # fmt: skip
    cases = [
        ({"metric": "mart_vending_daily.no_such_metric"}, ["body", "params", "metric"], "pulse metrics list"),
        ({"by": "counterparty_name"}, ["body", "params", "by"], "hospital_id, hospital_name"),
        ({"condition": "sideways"}, ["body", "params", "condition"], "above"),
        ({"threshold": None}, ["body", "params", "threshold"], "number"),
    ]
    with TestClient(app, raise_server_exceptions=False) as client:
        headers = {"Authorization": f"Bearer {admin}"}
        for change, loc, reason in cases:
            answer = client.post("/v1/alert-rules", headers=headers,
                                 json={**rule, "params": {**rule["params"], **change}})  # fmt: skip
            assert answer.status_code == 422, (change, answer.text)
            (field,) = answer.json()["error"]["fields"]
            assert field["loc"] == loc and reason in field["reason"], (change, field)
        answer = client.post("/v1/alert-rules", headers=headers, json=rule)
        assert answer.status_code == 201, answer.text
        assert answer.json()["params"] == {**rule["params"], "weeks": 4, "period": "day"}
    with case.store.read() as session:  # only the valid one was stored
        assert session.scalars(select(AlertRule.name).where(AlertRule.kind == "metric")).all() == ["Kits"]
