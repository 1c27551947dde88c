"""The simulated business looks like the real one: funnels narrow, weekends are quiet, machines go
offline and upload late, PINs get locked, alerts are raised and resolved, some card top-ups are declined, insurers
pay for visits, money moves in several currencies, and the ledger never goes negative."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text

from operational_api import models as m
from operational_api.db import Store
from operational_api.schemas.vending import AuthoriseIn, AuthoriseOut, VendIn
from operational_api.services import vending
from simulator.rng import customer_pin
from tests.simulator.conftest import Simulated, simulate


def authorise(store: Store, request: AuthoriseIn) -> AuthoriseOut:
    """What POST /v1/vend-authorisations does, without HTTP: prepare outside the write, decide inside it."""
    prepared = vending.prepare_authorisation(store, request)
    with store.write() as session:
        return vending.decide_authorisation(session, prepared)


def scalar(sim: Simulated, sql: str) -> int:
    with sim.store.read() as session:
        return int(session.execute(text(sql)).scalar_one())


def test_funnel_narrows_from_lead_to_payment(business: Simulated) -> None:
    with business.store.read() as session:
        reached = dict(session.execute(
            select(m.PipelineStage.code, func.count(func.distinct(m.DealStageHistory.deal_id)))
            .join(m.PipelineStage, m.PipelineStage.id == m.DealStageHistory.to_stage_id)
            .group_by(m.PipelineStage.code)).all())  # fmt: skip
        leads = session.execute(select(func.count()).select_from(m.Lead)).scalar_one()
        attended = session.execute(
            select(func.count()).where(m.Appointment.status == "attended", m.Appointment.visit_type == "primary")
        ).scalar_one()
        no_shows = session.execute(select(func.count()).where(m.Appointment.status == "no_show")).scalar_one()
    funnel = [leads, reached["new"], reached["contacted"], reached["booked"], reached["attended"], reached["won"]]
    assert funnel == sorted(funnel, reverse=True) and funnel[-1] > 10, funnel
    assert reached["lost"] > reached["won"] / 4
    assert attended > 0 and no_shows > 0


def test_weekdays_busier_than_weekends_and_shifts_peak(business: Simulated) -> None:
    with business.store.read() as session:
        rows = session.execute(
            select(m.VendTransaction.device_time, m.Hospital.time_zone)
            .join(m.Machine, m.Machine.id == m.VendTransaction.machine_id)
            .join(m.Hospital, m.Hospital.id == m.Machine.hospital_id)
        ).all()
    per_day: Counter[dt.date] = Counter()
    hours: Counter[int] = Counter()
    for device_time, zone in rows:
        local = device_time.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(zone))
        per_day[local.date()] += 1
        hours[local.hour] += 1
    weekday = [n for day, n in per_day.items() if day.weekday() < 5]
    weekend = [n for day, n in per_day.items() if day.weekday() >= 5]
    assert sum(weekday) / len(weekday) > 1.5 * sum(weekend) / len(weekend)
    top = [hour for hour, _ in hours.most_common(3)]
    assert 7 in top  # the morning shift starts at 8:00; kits are taken just before it
    assert hours[7] > 5 * hours[3]


def test_offline_machines_upload_late_and_out_of_order(business: Simulated) -> None:
    late = scalar(business, "SELECT count(*) FROM vend_transactions WHERE offline AND authorisation_id IS NULL "
                            "AND julianday(received_at) - julianday(device_time) > 1.0 / 24")  # fmt: skip
    assert late > 10
    # Rows arrive (change_seq) in a different order from when they happened (device_time).
    inversions = scalar(business, """
        SELECT count(*) FROM (SELECT device_time, lag(device_time) OVER (ORDER BY change_seq) AS before
                              FROM vend_transactions WHERE offline) WHERE device_time < before""")  # fmt: skip
    assert inversions > 0
    assert scalar(business, "SELECT count(*) FROM alerts WHERE kind = 'machine_offline'") > 0


def test_pin_lockouts_raise_alerts(business: Simulated) -> None:
    lockouts = scalar(business, "SELECT count(*) FROM alerts WHERE kind = 'pin_lockout'")
    assert lockouts > 0
    assert scalar(business, "SELECT count(*) FROM vend_authorisations WHERE reason = 'bad_pin'") >= 5 * lockouts
    with business.store.read() as session:
        alert = session.execute(select(m.Alert).where(m.Alert.kind == "pin_lockout").limit(1)).scalar_one()
        bad = session.execute(
            select(func.count()).where(m.VendAuthorisation.customer_id == alert.customer_id,
                                       m.VendAuthorisation.reason == "bad_pin",
                                       m.VendAuthorisation.requested_at <= alert.raised_at,
                                       m.VendAuthorisation.requested_at > alert.raised_at - dt.timedelta(minutes=3))
        ).scalar_one()  # fmt: skip
    assert bad == 5


def test_alerts_name_their_subject_and_hospital_and_when_they_were_handled(business: Simulated) -> None:
    """The history's alerts were raised without a rule (so nobody was notified), about a machine and its hospital (and
    a locked customer); the service desk acknowledged some; the condition clearing resolved them."""
    with business.store.read() as session:
        rows = session.execute(
            select(m.Alert, m.Machine.hospital_id).join(m.Machine, m.Machine.id == m.Alert.machine_id)
        ).all()
        assert len(rows) == session.execute(select(func.count()).select_from(m.Alert)).scalar_one()
    kinds = Counter(alert.kind for alert, _ in rows)
    assert set(kinds) == {"pin_lockout", "machine_offline"}
    for alert, hospital_id in rows:
        assert alert.rule_id is None and alert.notified_at is None and alert.occurrences == 1
        assert alert.hospital_id == hospital_id
        expected = f"customer:{alert.customer_id}" if alert.kind == "pin_lockout" else f"machine:{alert.machine_id}"
        assert alert.subject == expected
        assert (alert.status == "resolved") == (alert.resolved_at is not None)
        if alert.resolved_at is not None:
            assert alert.resolved_at > alert.raised_at
        if alert.acknowledged_at is not None:
            assert alert.kind == "machine_offline" and (alert.acknowledged_by or "").startswith("portal:")
            assert alert.raised_at < alert.acknowledged_at < (alert.resolved_at or business.cfg.stop)
        else:
            assert alert.status != "acknowledged" and alert.acknowledged_by is None
    assert any(alert.acknowledged_at is not None for alert, _ in rows)
    assert any(alert.kind == "pin_lockout" and alert.status == "resolved" for alert, _ in rows)


def test_some_card_topups_fail_and_most_are_tried_again(business: Simulated) -> None:
    """A declined card credits nothing (no ledger entry carries its processor reference); payroll never fails; most
    people try again and are credited."""
    failures = scalar(business, "SELECT count(*) FROM topup_failures")
    card_topups = scalar(business, "SELECT count(*) FROM account_entries WHERE kind = 'topup' AND source != 'payroll'")
    assert 0 < failures < 0.1 * card_topups
    assert scalar(business, "SELECT count(*) FROM topup_failures WHERE source = 'web_portal'") > 0
    assert scalar(business, "SELECT count(*) FROM topup_failures WHERE source = 'payroll'") == 0
    assert scalar(business, """SELECT count(*) FROM topup_failures f
                               JOIN account_entries e ON e.processor_ref = f.processor_ref""") == 0  # fmt: skip
    retried = scalar(business, """
        SELECT count(*) FROM topup_failures f WHERE EXISTS (
          SELECT 1 FROM account_entries e WHERE e.customer_id = f.customer_id AND e.kind = 'topup'
            AND julianday(e.occurred_at) BETWEEN julianday(f.occurred_at) AND julianday(f.occurred_at) + 1)""")  # fmt: skip
    assert retried > failures / 2
    sources = {r for r in business.result.events if r.startswith("failed_topup_")}
    assert "failed_topup_payroll" not in sources and "failed_topup_web_portal" in sources


def test_insurance_visits_cost_the_patient_nothing(business: Simulated) -> None:
    insured = scalar(business, "SELECT count(*) FROM appointments WHERE insurance_policy AND price = 0 "
                               "AND insurer_id IS NOT NULL")  # fmt: skip
    assert insured > 0
    assert scalar(business, "SELECT count(*) FROM appointments WHERE insurance_policy AND price > 0") == 0


def test_money_in_several_currencies(business: Simulated) -> None:
    assert scalar(business, "SELECT count(DISTINCT currency) FROM invoices") >= 3
    assert scalar(business, "SELECT count(DISTINCT currency) FROM ad_spend") >= 3
    assert scalar(business, "SELECT count(DISTINCT base_currency) FROM fx_rates WHERE quote_currency = 'RUB'") == 4
    assert scalar(business, "SELECT count(*) FROM payments") > 0


def test_ledger_never_negative_and_every_vend_debited(business: Simulated) -> None:
    lowest = scalar(business, """
        SELECT coalesce(min(running), 0) FROM (
          SELECT sum(amount) OVER (PARTITION BY customer_id ORDER BY occurred_at, id) AS running
          FROM account_entries)""")  # fmt: skip
    assert lowest >= 0
    assert scalar(business, """
        SELECT count(*) FROM vend_transactions v WHERE v.status IN ('completed', 'refunded')
          AND (SELECT count(*) FROM account_entries e WHERE e.vend_transaction_id = v.id AND e.kind = 'vend') != 1
        """) == 0  # fmt: skip
    assert scalar(business, "SELECT count(*) FROM vend_authorisations WHERE decision = 'approved'") == scalar(
        business, "SELECT count(*) FROM vend_transactions WHERE NOT offline"
    )
    sources = {r for r in business.result.events if r.startswith("topup_")}
    assert sources == {"topup_web_portal", "topup_phone_operator", "topup_payroll"}
    assert scalar(business, "SELECT count(*) FROM account_entries WHERE kind = 'refund'") > 0


def test_price_list_changes_show_in_vends(business: Simulated) -> None:
    assert scalar(business, "SELECT count(*) FROM product_prices WHERE valid_to IS NOT NULL") > 0
    assert scalar(business, """SELECT max(n) FROM (SELECT count(DISTINCT unit_price) AS n FROM vend_transactions
                                GROUP BY product_id)""") >= 2  # fmt: skip


def test_change_tracking_for_incremental_extraction(business: Simulated) -> None:
    tables = [t.name for t in m.Base.metadata.sorted_tables if t.info.get("extract", True)]
    union = " UNION ALL ".join(f"SELECT change_seq FROM {name}" for name in tables)
    total = scalar(business, f"SELECT count(*) FROM ({union})")
    assert scalar(business, f"SELECT count(DISTINCT change_seq) FROM ({union})") == total
    assert scalar(business, f"SELECT max(change_seq) FROM ({union})") <= scalar(
        business, "SELECT value FROM pulse_change_seq"
    )
    assert scalar(business, "SELECT count(*) FROM leads WHERE deleted_at IS NOT NULL") > 0
    assert scalar(business, "SELECT count(*) FROM leads WHERE updated_at > created_at") > 0
    assert scalar(business, "SELECT count(*) FROM appointments WHERE updated_at > created_at") > 0
    # Simulated time, not the wall clock, drives the timestamps.
    assert scalar(business, "SELECT count(*) FROM vend_transactions WHERE created_at >= '2026-04-01'") == 0


def test_feeds_land_one_file_per_day_with_bad_rows(business: Simulated) -> None:
    landing = business.settings.landing_dir
    calls = sorted((landing / "telephony").glob("calls_*.csv"))
    assert len(calls) == 91
    assert calls[0].name == "calls_2025-12-31.csv"
    assert len(list((landing / "fx").glob("fx_rates_*.csv"))) == 65  # business days only
    header = calls[10].read_text().splitlines()[0]
    assert header.startswith("call_id,started_at,answered_at,ended_at,direction,operator_id")
    events = [line for p in (landing / "messages").glob("*.jsonl") for line in p.read_text().splitlines()]
    broken = 0
    for line in events:
        try:
            json.loads(line)
        except json.JSONDecodeError:
            broken += 1
    assert broken == 1
    spend = "".join(p.read_text() for p in (landing / "ad_spend").glob("*.csv"))
    assert "not-a-date" in spend and ",USD" in spend and ",EUR" in spend


def test_service_layer_accepts_the_simulated_world(business: Simulated) -> None:
    """PINs, prices, stock and balances are what the service layer expects: a live vend works."""
    store = business.store
    with store.read() as session:
        customer = session.execute(
            select(m.Customer).where(m.Customer.status == "active", m.Customer.pin_locked_at.is_(None))
            .order_by(m.Customer.id).limit(1)).scalar_one()  # fmt: skip
        machine = session.execute(
            select(m.Machine.serial).where(m.Machine.hospital_id == customer.home_hospital_id).limit(1)
        ).scalar_one()
        balance = vending.balance(session, customer.id)
    pin = customer_pin(business.cfg.seed, customer.client_id)
    wrong = authorise(store, AuthoriseIn(machine_serial=machine, client_id=customer.client_id,
                                                      pin="0" + pin, sku="GOWN-M"))  # fmt: skip
    assert wrong.reason == "bad_pin"
    if balance < Decimal("1000"):
        return
    decision = authorise(
        store, AuthoriseIn(machine_serial=machine, client_id=customer.client_id, pin=pin, sku="GOWN-M")
    )
    assert decision.decision == "approved", decision
    with store.write() as session:
        out = vending.ingest_vends(session, [VendIn(id="after-history-1", machine_serial=machine,
                                                    client_id=customer.client_id, sku="GOWN-M",
                                                    unit_price=decision.unit_price or Decimal(0),
                                                    device_time=dt.datetime.now(dt.UTC),
                                                    authorisation_id=decision.authorisation_id)])  # fmt: skip
    assert out.created == 1


def test_a_history_opening_on_a_weekend_has_rates_from_its_first_day(tmp_path: Path) -> None:
    """Amounts in foreign currency from the first day on need a rate on or before their day (the marts refuse to
    convert without one): a window opening on a Saturday still opens with the rates in force."""
    saturday = dt.date(2026, 3, 7)
    sim = simulate(tmp_path, seed=5, days=3, scale=0.01, end=saturday + dt.timedelta(days=2))
    try:
        assert scalar(sim, "SELECT count(*) FROM fx_rates WHERE day < '2026-03-07'") == 0
        assert scalar(sim, "SELECT count(*) FROM fx_rates WHERE day = '2026-03-07'") == 4  # USD, EUR, KZT, CNY
        assert scalar(sim, "SELECT count(*) FROM fx_rates WHERE day = '2026-03-08'") == 0  # Sunday: none published
    finally:
        sim.store.dispose()
