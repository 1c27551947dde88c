"""The dbt project on a simulated business: a full build passes every test; after new activity (inserts,
updates and a tombstone written through the ORM, extracted again) an incremental build gives exactly the
marts a full rebuild gives, and staging still reconciles with the operational store."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from extractors.feeds import load_feeds
from extractors.pipeline import extract
from extractors.reconcile import reconcile
from operational_api.models import AccountEntry, Call, VendTransaction
from pulse.dbt import run_dbt
from tests.extractors.conftest import Platform

pytestmark = pytest.mark.xdist_group("dbt_project")


def snapshot(platform: Platform) -> dict[str, list[tuple[Any, ...]]]:
    client = platform.client()
    tables = [r[0] for r in client.query("SELECT name FROM system.tables WHERE database = 'marts'").result_rows]
    assert len(tables) >= 20
    return {t: client.query(f"SELECT * FROM marts.`{t}` ORDER BY ALL").result_rows for t in sorted(tables)}


def new_activity(platform: Platform) -> dict[str, Any]:
    """A new vend and its debit, a vend refunded later, and a call deleted: through the ORM (change_seq stamped)."""
    now = dt.datetime.now(dt.UTC)
    with platform.store.write() as session:
        sold = session.scalars(
            select(VendTransaction).where(VendTransaction.status == "completed").order_by(VendTransaction.id).limit(2)
        ).all()
        template, refunded = sold[0], sold[1]
        new_id = "test-vend-after-first-build"
        session.add(
            VendTransaction(
                id=new_id, machine_id=template.machine_id, customer_id=template.customer_id,
                product_id=template.product_id, quantity=3, unit_price=Decimal("410.00"), amount=Decimal("1230.00"),
                currency="RUB", status="completed", device_time=now, received_at=now, offline=False,
            )
        )  # fmt: skip
        session.flush()
        session.add(
            AccountEntry(
                customer_id=template.customer_id, kind="vend", source="machine", amount=Decimal("-1230.00"),
                currency="RUB", occurred_at=now, vend_transaction_id=new_id,
            )
        )  # fmt: skip
        refunded.status = "refunded"
        session.add(
            AccountEntry(
                customer_id=refunded.customer_id, kind="refund", source="admin", amount=refunded.amount,
                currency="RUB", occurred_at=now, vend_transaction_id=refunded.id,
            )
        )  # fmt: skip
        call = session.scalars(select(Call).order_by(Call.id).limit(1)).one()
        call.deleted_at = now
        return {"new_vend": new_id, "refunded_vend": refunded.id, "deleted_call": call.id}


def test_incremental_build_equals_full_rebuild(platform: Platform) -> None:
    settings = platform.settings
    extract(settings)
    load_feeds(platform.client(), settings.resolved_landing_url)
    assert run_dbt(["build"], settings) == 0

    changed = new_activity(platform)
    extract(settings)
    assert run_dbt(["build"], settings) == 0
    client = platform.client()
    facts = client.query(
        "SELECT (SELECT status FROM marts.fct_vend_transactions WHERE vend_transaction_id = {r:String}),"
        " (SELECT count() FROM marts.fct_vend_transactions WHERE vend_transaction_id = {n:String}),"
        " (SELECT count() FROM marts.fct_calls WHERE call_id = {c:Int64})",
        parameters={"r": changed["refunded_vend"], "n": changed["new_vend"], "c": changed["deleted_call"]},
    ).result_rows[0]
    assert facts == ("refunded", 1, 0)  # updated, inserted and tombstoned rows all reached the facts
    incremental = snapshot(platform)

    assert run_dbt(["build", "--full-refresh"], settings) == 0
    rebuilt = snapshot(platform)
    assert incremental.keys() == rebuilt.keys()
    for table in incremental:
        assert incremental[table] == rebuilt[table], f"{table}: incremental build differs from a full rebuild"

    checks = reconcile(settings)  # staging keeps exactly the live rows of every operational table
    assert sum(1 for c in checks if c.layer == "staging") >= 30
