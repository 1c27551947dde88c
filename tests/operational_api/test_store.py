"""The store on SQLite and PostgreSQL: schema, change_seq, tombstones, exactly-once ingestion."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from alembic import command
from sqlalchemy import func, select, text

from operational_api.db import Store
from operational_api.migrate import alembic_config
from operational_api.models import (
    AccountEntry,
    Base,
    Contact,
    MachineStock,
    TombstoneRequired,
    VendTransaction,
)
from operational_api.services import crud, vending
from operational_api.services.common import Conflict, Invalid
from operational_api.services.resources import BY_NAME
from tests.operational_api.factories import seed, vends


def test_migrated_schema_matches_models(db_url: str) -> None:
    command.check(alembic_config(db_url))  # raises if the models and the migrated schema differ


def test_every_table_is_tracked_and_commented() -> None:
    for table in Base.metadata.sorted_tables:
        assert table.comment, table.name
        for column in table.columns:
            assert column.comment, f"{table.name}.{column.name}"
        if table.name == "pulse_change_seq":
            continue
        for name in ("created_at", "updated_at", "deleted_at", "change_seq"):
            assert name in table.c, f"{table.name} lacks {name}"
        assert not table.c.change_seq.nullable


def _contact(store: Store, name: str) -> int:
    with store.write() as s:
        return int(crud.create_row(s, BY_NAME["contacts"], {"full_name": name}).id)


def _seq(store: Store, contact_id: int) -> int:
    with store.read() as s:
        return int(s.execute(select(Contact.change_seq).where(Contact.id == contact_id)).scalar_one())


def test_change_seq_increases_with_updates_and_tombstones(store: Store) -> None:
    first = _contact(store, "Anna")
    second = _contact(store, "Boris")
    seqs = [_seq(store, first), _seq(store, second)]
    with store.write() as s:
        crud.update_row(s, BY_NAME["contacts"], first, {"city": "Kazan"})
    seqs.append(_seq(store, first))
    with store.write() as s:
        crud.delete_row(s, BY_NAME["contacts"], second)
    seqs.append(_seq(store, second))
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    with store.read() as s:
        tomb = s.get(Contact, second)
        assert tomb is not None and tomb.deleted_at is not None  # row kept, marked
        assert tomb.updated_at >= tomb.created_at
        rows, _ = crud.list_rows(s, BY_NAME["contacts"], filters={}, limit=10, cursor=None,
                                 include_deleted=False, changed_since=seqs[1])  # fmt: skip
        assert [r.id for r in rows] == [first]  # incremental read sees the update...
        rows, _ = crud.list_rows(s, BY_NAME["contacts"], filters={}, limit=10, cursor=None,
                                 include_deleted=True, changed_since=seqs[2])  # fmt: skip
        assert [r.id for r in rows] == [second]  # ...and the tombstone
    with pytest.raises(TombstoneRequired), store.write() as s:
        s.delete(s.get(Contact, first))
    assert _seq(store, first) == seqs[2]


def test_change_seq_is_commit_ordered_for_an_incremental_extractor(store: Store) -> None:
    """Writers in threads insert and update rows while an extractor reads `change_seq > watermark`
    in snapshots; no committed final row version may slip below the watermark unseen."""
    ids = [_contact(store, f"seed {i}") for i in range(20)]
    stop = threading.Event()
    seen: dict[int, set[int]] = {}
    watermark = 0

    def extract() -> None:
        nonlocal watermark
        with store.read_engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            rows = conn.execute(select(Contact.id, Contact.change_seq).where(Contact.change_seq > watermark)).all()
            conn.rollback()
        for row_id, seq in rows:
            seen.setdefault(row_id, set()).add(seq)
            watermark = max(watermark, seq)

    def extractor() -> None:
        while not stop.is_set():
            extract()

    def writer(worker: int) -> None:
        rng = random.Random(worker)
        for step in range(25):
            with store.write() as s:
                if rng.random() < 0.5:
                    crud.create_row(s, BY_NAME["contacts"], {"full_name": f"w{worker}-{step}"})
                else:
                    crud.update_row(s, BY_NAME["contacts"], rng.choice(ids), {"city": f"c{worker}-{step}"})

    reader = threading.Thread(target=extractor)
    reader.start()
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(writer, range(6)))
    stop.set()
    reader.join()
    extract()
    with store.read() as s:
        final = s.execute(select(Contact.id, Contact.change_seq)).all()
        all_seqs = [seq for _, seq in final]
    assert len(set(all_seqs)) == len(all_seqs)
    missed = [(row_id, seq) for row_id, seq in final if seq not in seen.get(row_id, set())]
    assert not missed


def _counts(store: Store) -> tuple[int, int]:
    with store.read() as s:
        vend_count = s.execute(select(func.count()).select_from(VendTransaction)).scalar_one()
        debits = s.execute(
            select(func.count()).select_from(AccountEntry).where(AccountEntry.kind == "vend")
        ).scalar_one()
    return int(vend_count), int(debits)


def test_offline_uploads_out_of_order_are_accepted_exactly_once(store: Store) -> None:
    world = seed(store)
    items = vends(world, 300, offline=True)
    shuffled = items[:]
    random.Random(7).shuffle(shuffled)
    # Overlapping, out-of-order chunks, each uploaded twice (as a flaky machine would).
    chunks = [shuffled[i : i + 70] for i in range(0, 300, 50)]
    for chunk in chunks + chunks[::-1]:
        with store.write() as s:
            vending.ingest_vends(s, chunk)
    assert _counts(store) == (300, 300)
    with store.read() as s:
        balances = [vending.balance(s, cid) for cid in (1, 2, 3)]
        stock = s.execute(select(func.sum(MachineStock.quantity))).scalar_one()
    assert sum(balances) == 3 * Decimal("100000") - 300 * world.price
    assert stock == 4 * 10**6 - 300


def test_same_batch_replayed_and_concurrent_leaves_one_copy(store: Store) -> None:
    world = seed(store)
    batch = vends(world, 500)
    for _ in range(10):
        with store.write() as s:
            vending.ingest_vends(s, batch)

    def send(_: int) -> int:
        with store.write() as s:
            return vending.ingest_vends(s, batch).created

    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(send, range(16)))
    assert sum(created) == 0
    other = vends(world, 500, prefix="w")
    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(lambda _: _ingest(store, other), range(16)))
    assert sum(created) == 500  # exactly one of the 16 concurrent copies stored it
    assert _counts(store) == (1000, 1000)


def _ingest(store: Store, items: list) -> int:  # type: ignore[type-arg]
    with store.write() as s:
        return vending.ingest_vends(s, items).created


def test_batches_are_all_or_nothing(store: Store) -> None:
    world = seed(store)
    items = vends(world, 100)
    bad = items[:]
    bad[57] = bad[57].model_copy(update={"client_id": "NOPE"})
    with pytest.raises(Invalid) as err, store.write() as s:
        vending.ingest_vends(s, bad)
    assert err.value.fields[0][0] == ("body", "items", 57, "client_id")
    assert _counts(store) == (0, 0)
    with store.write() as s:
        vending.ingest_vends(s, items[:10])
    changed = items[:]
    changed[3] = changed[3].model_copy(update={"quantity": 2})
    with pytest.raises(Conflict), store.write() as s:
        vending.ingest_vends(s, changed)
    assert _counts(store) == (10, 10)
