"""The dbt project on a simulated business: a full build passes every test; after two rounds of new activity written
through the ORM and extracted again (new vends, refunds, vends that move to another day, month, machine and
customer, deleted vends, a deleted call), each followed by the hourly build (`DbtSession.build_changed`: only what
the changed raw tables feed, the vend totals following the fact's change log), the marts are exactly those a full
rebuild gives, and staging still reconciles with the operational store. A hospital moving to another time zone (every local date of its machines moves) makes
the vend totals rebuild themselves instead of following the log, and they still equal the fact."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from extractors.feeds import load_feeds
from extractors.pipeline import extract
from extractors.reconcile import reconcile
from operational_api.models import AccountEntry, Call, Customer, Hospital, Machine, VendTransaction
from pulse.dbt.runner import PROJECT_DIR, DbtSession, dbt_env, dbt_executable
from tests.dbt.activity import sell
from tests.extractors.conftest import Platform

pytestmark = pytest.mark.xdist_group("dbt_project")

VEND_TOTALS = "intermediate.int_vend_daily_versions"


def snapshot(platform: Platform) -> dict[str, list[tuple[Any, ...]]]:
    """Every mart, and the current vend totals the vending marts are summed from."""
    client = platform.client()
    tables = [r[0] for r in client.query("SELECT name FROM system.tables WHERE database = 'marts'").result_rows]
    assert len(tables) >= 20
    names = [f"marts.`{t}`" for t in sorted(tables)] + ["intermediate.int_vend_daily"]
    return {name: client.query(f"SELECT * FROM {name} ORDER BY ALL").result_rows for name in names}


def table_uuid(platform: Platform, name: str) -> str:
    database, table = name.split(".")
    return str(
        platform.client()
        .query("SELECT uuid FROM system.tables WHERE database = {d:String} AND name = {t:String}",
               parameters={"d": database, "t": table})
        .result_rows[0][0]
    )  # fmt: skip


def new_activity(platform: Platform, round_no: int) -> dict[str, Any]:
    """Through the ORM (change_seq stamped): a new vend and its debit, a vend refunded later, a vend moved back
    40 days (another day and month) to another machine and customer, a deleted vend, a deleted call."""
    now = dt.datetime.now(dt.UTC)
    with platform.store.write() as session:
        sold = session.scalars(
            select(VendTransaction)
            .where(VendTransaction.status == "completed", VendTransaction.deleted_at.is_(None))
            .order_by(VendTransaction.id)
            .limit(4)
        ).all()
        template, refunded, moved, deleted = sold
        new_id = f"test-vend-{round_no}"
        sell(session, new_id, machine_id=template.machine_id, customer_id=template.customer_id,
             product_id=template.product_id, quantity=3, unit_price=Decimal("410.00"), at=now)  # fmt: skip
        refunded.status = "refunded"
        session.add(
            AccountEntry(
                customer_id=refunded.customer_id, kind="refund", source="admin", amount=refunded.amount,
                currency=refunded.currency, occurred_at=now, vend_transaction_id=refunded.id,
            )
        )  # fmt: skip
        other_machine = session.scalars(
            select(Machine).where(Machine.id != moved.machine_id).order_by(Machine.id).limit(1)
        ).one()
        other_customer = session.scalars(
            select(Customer).where(Customer.id != moved.customer_id).order_by(Customer.id).limit(1)
        ).one()
        moved.device_time = moved.device_time - dt.timedelta(days=40)
        moved.machine_id = other_machine.id
        moved.customer_id = other_customer.id
        deleted.deleted_at = now
        call = session.scalars(select(Call).order_by(Call.id).limit(1)).one()
        call.deleted_at = now
        return {"new_vend": new_id, "refunded_vend": refunded.id, "moved_vend": moved.id,
                "deleted_vend": deleted.id, "deleted_call": call.id}  # fmt: skip


def move_a_hospital_to_another_time_zone(platform: Platform) -> None:
    with platform.store.write() as session:
        hospital = session.scalars(
            select(Hospital).where(Hospital.id.in_(select(Machine.hospital_id))).order_by(Hospital.id).limit(1)
        ).one()
        hospital.time_zone = "Asia/Kamchatka" if hospital.time_zone != "Asia/Kamchatka" else "Europe/Kaliningrad"


def test_incremental_build_equals_full_rebuild(platform: Platform) -> None:
    settings = platform.settings
    dbt = DbtSession(settings)
    extract(settings)
    load_feeds(platform.client(), settings.resolved_landing_url)
    first = dbt.build_changed()
    assert first.success, first.failures
    assert first.plan.select is None  # no marks yet: the whole project, every test
    totals_table = table_uuid(platform, VEND_TOTALS)

    # Two rounds: in the second, the versions replaced were logged before the totals' mark (read in the first).
    for round_no in (1, 2):
        changed = new_activity(platform, round_no)
        extract(settings)
        hourly = dbt.build_changed()
        assert hourly.success, hourly.failures
        assert hourly.plan.select is not None and "source:raw.vend_transactions+" in hourly.plan.select
        assert "source:raw.hospitals+" not in hourly.plan.select  # untouched inputs are not rebuilt
        assert table_uuid(platform, VEND_TOTALS) == totals_table  # the totals followed the change log
    client = platform.client()
    facts = client.query(
        "SELECT (SELECT status FROM marts.fct_vend_transactions WHERE vend_transaction_id = {r:String}),"
        " (SELECT count() FROM marts.fct_vend_transactions WHERE vend_transaction_id IN ({n:String}, {m:String})),"
        " (SELECT count() FROM marts.fct_vend_transactions WHERE vend_transaction_id = {d:String}),"
        " (SELECT count() FROM marts.fct_calls WHERE call_id = {c:Int64})",
        parameters={"r": changed["refunded_vend"], "n": changed["new_vend"], "m": changed["moved_vend"],
                    "d": changed["deleted_vend"], "c": changed["deleted_call"]},
    ).result_rows[0]  # fmt: skip
    assert facts == ("refunded", 2, 0, 0)  # updated, inserted, moved and tombstoned rows all reached the facts
    incremental = snapshot(platform)

    rebuild = dbt.build("--full-refresh")
    assert rebuild.success, rebuild.failures
    rebuilt = snapshot(platform)
    assert incremental.keys() == rebuilt.keys()
    for table in incremental:
        assert incremental[table] == rebuilt[table], f"{table}: incremental build differs from a full rebuild"

    checks = reconcile(settings)  # staging keeps exactly the live rows of every operational table
    assert sum(1 for c in checks if c.layer == "staging") >= 30

    # Every local date of a hospital's machines moves: the totals cannot follow that row by row and rebuild.
    totals_table = table_uuid(platform, VEND_TOTALS)
    move_a_hospital_to_another_time_zone(platform)
    new_activity(platform, 3)
    extract(settings)
    hourly = dbt.build_changed()
    assert hourly.success, hourly.failures
    assert table_uuid(platform, VEND_TOTALS) != totals_table
    reconciled = dbt.invoke(["test", "--select", "tag:full_scan"])  # totals == fact, marts == staging
    assert reconciled.success and len(reconciled.result.results) >= 4


def test_a_mart_breaking_its_contract_fails_and_leaves_the_mart_as_it_was(platform: Platform, tmp_path: Path) -> None:
    """Contracted marts are built by one CREATE TABLE ... AS SELECT and checked on what was created
    (macros/contract_tables.sql): a column whose type differs from the YAML fails the model with dbt's contract
    error, and the mart in place is not swapped out, nor is the rejected table left behind."""
    settings = platform.settings
    extract(settings)
    load_feeds(platform.client(), settings.resolved_landing_url)
    built = DbtSession(settings).invoke(["run", "--select", "+mart_hospital_commissions_monthly"])
    assert built.success
    client = platform.client()
    mart = "marts.mart_hospital_commissions_monthly"
    before = (table_uuid(platform, mart), client.query(f"SELECT * FROM {mart} ORDER BY ALL").result_rows)
    assert before[1]

    project = tmp_path / "dbt_project"
    shutil.copytree(PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    contract = project / "models" / "marts" / "mart_hospital_commissions_monthly.yml"
    text = contract.read_text()
    assert "  - name: kits_sold\n    description: Kits sold (completed vends).\n    data_type: UInt64\n" in text
    contract.write_text(
        text.replace("Kits sold (completed vends).\n    data_type: UInt64", "Kits sold.\n    data_type: Int32")
    )
    env = {**dbt_env(settings), "DBT_PROJECT_DIR": str(project), "DBT_PROFILES_DIR": str(project),
           "DBT_TARGET_PATH": str(tmp_path / "target"), "DBT_LOG_PATH": str(tmp_path / "logs")}  # fmt: skip
    run = subprocess.run(
        [dbt_executable(), "run", "--select", "mart_hospital_commissions_monthly"],
        env=env, cwd=project, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode != 0
    assert "enforced contract that failed" in run.stdout and "kits_sold" in run.stdout, run.stdout[-3000:]
    after = (table_uuid(platform, mart), client.query(f"SELECT * FROM {mart} ORDER BY ALL").result_rows)
    assert after == before
    leftovers = client.query("SELECT name FROM system.tables WHERE database = 'marts' AND name LIKE '%dbt%'")
    assert leftovers.result_rows == []


def test_a_build_of_a_selection_records_no_build_marks(platform: Platform) -> None:
    """What a selection left out is still to be built: after `build("--select", ...)` the hourly build still plans
    the whole project, whichever way the flag is spelt."""
    extract(platform.settings)
    load_feeds(platform.client(), platform.settings.resolved_landing_url)
    dbt = DbtSession(platform.settings)
    for args in (("--select", "stg_hospitals"), ("--select=stg_hospitals",), ("-s", "stg_hospitals")):
        outcome = dbt.build(*args, "--indirect-selection", "cautious")  # not the tests that reach stg_machines
        assert outcome.success and outcome.nodes >= 1, outcome.failures
        assert outcome.plan.marks == {}
        assert dbt.plan().reason == "first build"
