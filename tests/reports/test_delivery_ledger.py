"""The delivery ledger on SQLite and on PostgreSQL: planning twice adds nothing, of two senders racing for a row
exactly one claims it, an unsubscribe wins over a planned row, failures come back at their retry time and not
before, and a stale claim becomes in doubt."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from operational_api.db import Store
from operational_api.migrate import upgrade
from operational_api.models import ReportDelivery, ReportSubscription, ReportUnsubscribe, utcnow
from reports import ledger
from reports.ledger import PlannedDelivery
from tests.pg import PostgresServer, running_postgres

UTC = dt.UTC


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.xdist_group("pg"))])
def store(request: pytest.FixtureRequest, tmp_path: Path, ops_template: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        shutil.copy(ops_template, tmp_path / "ops.db")
        url = f"sqlite:///{tmp_path / 'ops.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("pg")
        url = server.create_database(f"ledger_{abs(hash(request.node.name)) % 10**8}")
        upgrade(url)
    store = Store(url)
    yield store
    store.dispose()


def subscription(store: Store) -> int:
    with store.write() as session:
        row = ReportSubscription(name="ledger", report_kind="customer_statement", cron="0 8 1 * *",
                                 time_zone="UTC", recipient_query="SELECT 1")  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def planned(n: int) -> list[PlannedDelivery]:
    return [
        PlannedDelivery(
            email=f"r{i}@example.com",
            period="2026-10",
            params={"customer_id": str(i), "period": "2026-10"},
            locale="ru",
            name=f"R{i}",
        )
        for i in range(n)
    ]


def rows(store: Store) -> dict[str, ReportDelivery]:
    with store.read() as session:
        return {r.email: r for r in session.scalars(select(ReportDelivery))}


def test_ledger_claims_each_statement_once(store: Store) -> None:
    sub = subscription(store)
    now = utcnow()
    assert ledger.plan(store, sub, planned(4), run_id="a", now=now) == 4
    assert ledger.plan(store, sub, planned(4), run_id="b", now=now) == 0  # a rerun plans nothing new
    # One contact for two hospitals is two statements: the parameters are part of the key.
    other = PlannedDelivery(email="r0@example.com", period="2026-10", params={"customer_id": "99", "period": "2026-10"},
                            locale="ru", name="R0")  # fmt: skip
    assert ledger.plan(store, sub, [other], run_id="c", now=now) == 1
    ids = ledger.claimable_ids(store, sub, now)
    assert len(ids) == 5

    # Two senders race for every row: each row is claimed exactly once.
    barrier = threading.Barrier(2)
    won: list[list[int]] = [[], []]

    def sender(k: int) -> None:
        for delivery_id in ids:
            barrier.wait()
            if ledger.claim(store, delivery_id, message_id=f"<{delivery_id}@t>", run_id=f"s{k}", now=now):
                won[k].append(delivery_id)

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(won[0] + won[1]) == sorted(ids)
    assert ledger.claimable_ids(store, sub, now) == []
    assert not ledger.claim(store, ids[0], message_id="<x@t>", run_id="late", now=now)  # `sending` stays taken


def test_unsubscribe_retries_and_stale_claims(store: Store) -> None:
    sub = subscription(store)
    now = utcnow()
    ledger.plan(store, sub, planned(3), run_id="a", now=now)
    r0, r1, r2 = (rows(store)[f"r{i}@example.com"] for i in range(3))

    with store.write() as session:  # r0 follows the unsubscribe link after planning
        session.add(ReportUnsubscribe(subscription_id=sub, email="r0@example.com"))
    assert not ledger.claim(store, r0.id, message_id="<0@t>", run_id="a", now=now)
    assert ledger.skip_unsubscribed(store, sub, "a") == 1
    assert rows(store)["r0@example.com"].state == "skipped"

    # r1: the server was unreachable before the claim; it comes back after its wait, not before.
    retry = ledger.retry_at(1, base_seconds=30, max_attempts=3, now=now)
    assert retry == now + dt.timedelta(seconds=30)
    assert ledger.retry_at(2, base_seconds=30, max_attempts=3, now=now) == now + dt.timedelta(seconds=60)
    assert ledger.retry_at(3, base_seconds=30, max_attempts=3, now=now) is None  # failed for good
    ledger.record_failure(store, r1.id, "connection refused", next_attempt_at=retry, claimed=False, run_id="a")
    assert ledger.claimable_ids(store, sub, now) == [r2.id]
    assert ledger.claimable_ids(store, sub, retry) == [r1.id, r2.id]
    assert rows(store)["r1@example.com"].attempts == 1

    # r2: claimed, then the sender died before recording the outcome: in doubt once the lease is over.
    assert ledger.claim(store, r2.id, message_id="<2@t>", run_id="a", now=now)
    assert ledger.expire_claims(store, utcnow()) == 0
    assert ledger.expire_claims(store, utcnow() + ledger.CLAIM_LEASE + dt.timedelta(seconds=1)) == 1
    assert rows(store)["r2@example.com"].state == "in_doubt"
    assert ledger.claimable_ids(store, sub, now + dt.timedelta(days=30)) == [r1.id]  # in doubt is never retried

    # r1 is sent on its retry; an operator requeues r2 after checking it did not arrive.
    assert ledger.claim(store, r1.id, message_id="<1@t>", run_id="b", now=retry)
    ledger.record_sent(store, r1.id)
    assert ledger.requeue(store, sub, states=["failed", "in_doubt"], period="2026-10", email=None) == 1
    with store.read() as session:
        counts = ledger.state_counts(session, subscription_id=sub)
    assert counts == {(sub, "2026-10", "skipped"): 1, (sub, "2026-10", "sent"): 1, (sub, "2026-10", "pending"): 1}
    sent = rows(store)["r1@example.com"]
    assert sent.attempts == 2 and sent.message_id == "<1@t>" and sent.sent_at is not None and sent.run_id == "b"
