"""Vending logic: customers' secrets, vend authorisation, and bulk ingestion of vends and top-ups.

The ingestion functions take an open write `Session` (from `Store.write()`) and a list of validated
items, and write them with a few set-based Core statements (no ORM object per row), so the simulator
can call them directly for history loads. Each call is all-or-nothing: any refusal raises before
commit and the caller's transaction rolls back.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Table, bindparam, case, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from operational_api.bulk import bulk_insert
from operational_api.db import Store
from operational_api.models import (
    AccountEntry,
    Customer,
    Hospital,
    Machine,
    MachineStock,
    Product,
    ProductPrice,
    VendAuthorisation,
    VendTransaction,
    allocate_change_seq,
    stamp_rows,
    table_of,
    utcnow,
)
from operational_api.schemas.vending import AdjustmentIn, AuthoriseIn, AuthoriseOut, IngestOut, TopupIn, VendIn
from operational_api.security import MAX_BAD_PINS, hash_pin, verify_pin
from operational_api.services.common import (
    Conflict,
    Invalid,
    Loc,
    NotFound,
    business_currency,
    check_references,
    differing_fields,
)

log = logging.getLogger("pulse.api.vending")
CENT = Decimal("0.01")


# --- currencies ---------------------------------------------------------------------------------------


def currency_refusal(customer: object, account_currency: str, currency: str) -> str:
    return f"the account of customer {customer} is in {account_currency}; an amount in {currency} cannot be added to it"


# --- customers ----------------------------------------------------------------------------------------


def customer_before_write(session: Session, values: dict[str, Any], existing: Any) -> dict[str, Any]:
    """Turn a submitted PIN into its hash (a new PIN also clears a lockout); default registration time and
    account currency (the business's); refuse to change the currency of an account that has entries."""
    values = _account_currency(session, dict(values), existing)
    pin = values.pop("pin", None)
    if pin is not None:
        store: Store = session.info["store"]
        values["pin_hash"] = hash_pin(pin, store.pepper)
        values["failed_pin_count"] = 0
        values["pin_locked_at"] = None
    if existing is None and values.get("registered_at") is None:
        values["registered_at"] = utcnow()
    elif existing is not None and "registered_at" in values and values["registered_at"] is None:
        del values["registered_at"]
    return values


def _account_currency(session: Session, values: dict[str, Any], existing: Customer | None) -> dict[str, Any]:
    currency = values.get("currency")
    if existing is None:
        values["currency"] = currency or business_currency(session)
    elif currency is None or currency == existing.currency:
        values.pop("currency", None)  # a replace without a currency keeps the account's
    elif _has_entries(session, existing.id):
        raise Invalid(
            "the account's currency cannot change",
            [
                (
                    ("body", "currency"),
                    f"the account of customer {existing.id} already has entries in {existing.currency}: "
                    f"its currency cannot change to {currency}",
                )
            ],
        )
    return values


def _has_entries(session: Session, customer_id: int) -> bool:
    # Tombstoned entries count too: they are still the account's history in its currency.
    found = session.execute(select(AccountEntry.id).where(AccountEntry.customer_id == customer_id).limit(1)).first()
    return found is not None


def unlock_customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None or customer.deleted_at is not None:
        raise NotFound(f"no customer with id {customer_id}")
    customer.failed_pin_count = 0
    customer.pin_locked_at = None
    session.flush()
    return customer


def balance(session: Session, customer_id: int) -> Decimal:
    """The account's balance, in the account's currency (`Customer.currency`).

    Every entry is in that currency (ingestion refuses others); the currency condition keeps an entry written in
    another one before accounts had a currency (migration 0005 warns about such accounts) out of the sum instead of
    adding, say, euros to dollars."""
    total = session.execute(
        select(func.coalesce(func.sum(AccountEntry.amount), 0))
        .select_from(AccountEntry)
        .join(Customer, Customer.id == AccountEntry.customer_id)
        .where(
            AccountEntry.customer_id == customer_id,
            AccountEntry.deleted_at.is_(None),
            AccountEntry.currency == Customer.currency,
        )
    ).scalar_one()
    return Decimal(total).quantize(CENT)


def current_price(session: Session, product_id: int, currency: str, at: dt.datetime) -> Decimal | None:
    """The product's unit price in `currency` at `at`, or None when its price list in that currency has none."""
    price = session.execute(
        select(ProductPrice.price)
        .where(
            ProductPrice.product_id == product_id,
            ProductPrice.currency == currency,
            ProductPrice.deleted_at.is_(None),
            ProductPrice.valid_from <= at,
            (ProductPrice.valid_to.is_(None)) | (ProductPrice.valid_to > at),
        )
        .order_by(ProductPrice.valid_from.desc())
        .limit(1)
    ).scalar()
    return None if price is None else Decimal(price).quantize(CENT)


# --- vend authorisation -------------------------------------------------------------------------------


@dataclass
class PreparedAuthorisation:
    """The lock-free part of an authorisation: lookups and the (deliberately slow) PIN hash check."""

    request: AuthoriseIn
    requested_at: dt.datetime
    machine_id: int | None = None
    customer_id: int | None = None
    product_id: int | None = None
    pin_ok: bool = False
    currency: str | None = None  # the account's: the price is the product's price in it
    price: Decimal | None = None
    early_reason: str | None = None
    machine_last_seen_at: dt.datetime | None = None


# The hot path runs two prebuilt statements (SQLAlchemy caches their compiled form): one lock-free
# lookup of everything the request names, and one read of the customer's state, stock and balance
# inside the write transaction. Price and balance are both in the account's currency: like with like.
_machines, _customers, _products = table_of(Machine), table_of(Customer), table_of(Product)
_prices, _stock, _ledger = table_of(ProductPrice), table_of(MachineStock), table_of(AccountEntry)

_ACCOUNT_CURRENCY = (
    select(_customers.c.currency)
    .where(_customers.c.client_id == bindparam("client_id"), _customers.c.deleted_at.is_(None))
    .scalar_subquery()
)

_LOOKUP = select(
    select(_machines.c.id)
    .where(_machines.c.serial == bindparam("serial"), _machines.c.deleted_at.is_(None))
    .scalar_subquery()
    .label("machine_id"),
    select(_machines.c.last_seen_at)
    .where(_machines.c.serial == bindparam("serial"), _machines.c.deleted_at.is_(None))
    .scalar_subquery()
    .label("machine_last_seen_at"),
    select(_customers.c.id)
    .where(_customers.c.client_id == bindparam("client_id"), _customers.c.deleted_at.is_(None))
    .scalar_subquery()
    .label("customer_id"),
    select(_customers.c.pin_hash)
    .where(_customers.c.client_id == bindparam("client_id"), _customers.c.deleted_at.is_(None))
    .scalar_subquery()
    .label("pin_hash"),
    select(_products.c.id)
    .where(_products.c.sku == bindparam("sku"), _products.c.deleted_at.is_(None))
    .scalar_subquery()
    .label("product_id"),
    _ACCOUNT_CURRENCY.label("currency"),
    select(_prices.c.price)
    .join(_products, _products.c.id == _prices.c.product_id)
    .where(
        _products.c.sku == bindparam("sku"),
        _products.c.deleted_at.is_(None),
        _prices.c.currency == _ACCOUNT_CURRENCY,  # a product may have a price list per currency
        _prices.c.deleted_at.is_(None),
        _prices.c.valid_from <= bindparam("at"),
        (_prices.c.valid_to.is_(None)) | (_prices.c.valid_to > bindparam("at")),
    )
    .order_by(_prices.c.valid_from.desc())
    .limit(1)
    .scalar_subquery()
    .label("price"),
)

_STATE = select(
    _customers.c.status,
    _customers.c.pin_locked_at,
    _customers.c.client_id,
    _customers.c.failed_pin_count,
    select(_stock.c.quantity)
    .where(
        _stock.c.machine_id == bindparam("machine_id"),
        _stock.c.product_id == bindparam("product_id"),
        _stock.c.deleted_at.is_(None),
    )
    .scalar_subquery()
    .label("stock"),
    # The same sum as balance(): the account's entries in its currency (correlated to the customer row).
    select(func.coalesce(func.sum(_ledger.c.amount), 0))
    .where(
        _ledger.c.customer_id == bindparam("customer_id"),
        _ledger.c.deleted_at.is_(None),
        _ledger.c.currency == _customers.c.currency,
    )
    .scalar_subquery()
    .label("balance"),
).where(_customers.c.id == bindparam("customer_id"))


def prepare_authorisation(store: Store, request: AuthoriseIn) -> PreparedAuthorisation:
    """Lookups and the PIN check, outside the write transaction (the hash check is deliberately slow)."""
    prepared = PreparedAuthorisation(request=request, requested_at=utcnow())
    with store.read_engine.connect() as conn:
        found = conn.execute(
            _LOOKUP,
            {
                "serial": request.machine_serial,
                "client_id": request.client_id,
                "sku": request.sku,
                "at": prepared.requested_at,
            },
        ).one()
        conn.rollback()
    prepared.machine_id, prepared.customer_id, prepared.product_id = (
        found.machine_id,
        found.customer_id,
        found.product_id,
    )
    prepared.currency = found.currency
    prepared.machine_last_seen_at = found.machine_last_seen_at
    if found.price is not None:
        prepared.price = Decimal(found.price).quantize(CENT)
    if found.machine_id is None:
        prepared.early_reason = "unknown_machine"
    elif found.customer_id is None:
        prepared.early_reason = "unknown_customer"
    elif found.product_id is None:
        prepared.early_reason = "unknown_product"
    if found.pin_hash is not None:
        prepared.pin_ok = verify_pin(request.pin, found.pin_hash, store.pepper)
    return prepared


def decide_authorisation(session: Session, prepared: PreparedAuthorisation) -> AuthoriseOut:
    """The short serialized part: PIN counters, lockout alert, stock and funds, the decision row."""
    request = prepared.request
    reason: str | None = prepared.early_reason
    customer_balance: Decimal | None = None
    price = prepared.price
    amount = None if price is None else (price * request.quantity).quantize(CENT)
    conn = session.connection()
    if reason is None:
        state = conn.execute(
            _STATE,
            {
                "customer_id": prepared.customer_id,
                "machine_id": prepared.machine_id,
                "product_id": prepared.product_id,
            },
        ).one()
        if state.status != "active":
            reason = "blocked"
        elif state.pin_locked_at is not None:
            reason = "pin_locked"
        elif not prepared.pin_ok:
            reason = "bad_pin"
            failures: int = conn.execute(
                update(_customers)
                .where(_customers.c.id == prepared.customer_id)
                .values(
                    failed_pin_count=_customers.c.failed_pin_count + 1,
                    change_seq=allocate_change_seq(conn, 1),
                    updated_at=utcnow(),
                )
                .returning(_customers.c.failed_pin_count)
            ).scalar_one()
            if failures >= MAX_BAD_PINS:
                _lock_out(session, prepared, state.client_id, failures)
        else:
            if state.failed_pin_count:
                conn.execute(
                    update(_customers)
                    .where(_customers.c.id == prepared.customer_id)
                    .values(failed_pin_count=0, change_seq=allocate_change_seq(conn, 1), updated_at=utcnow())
                )
            if price is None or amount is None:
                reason = "no_price"  # none in the account's currency (a price in another one is no price here)
            elif state.stock is None or state.stock < request.quantity:
                reason = "out_of_stock"
            else:
                customer_balance = Decimal(state.balance).quantize(CENT)
                if customer_balance < amount:
                    reason = "insufficient_funds"
    if prepared.machine_id is not None and _stale(prepared.machine_last_seen_at, prepared.requested_at):
        touch_machines(conn, [prepared.machine_id], prepared.requested_at)
    decision = "approved" if reason is None else "declined"
    row: dict[str, Any] = {
        "machine_id": prepared.machine_id,
        "customer_id": prepared.customer_id,
        "product_id": prepared.product_id,
        "quantity": request.quantity,
        "price": price,
        "decision": decision,
        "reason": reason,
        "requested_at": prepared.requested_at,
    }
    stamp_rows(conn, [row])
    auth_id: int = conn.execute(
        insert(table_of(VendAuthorisation)).returning(table_of(VendAuthorisation).c.id), row
    ).scalar_one()
    return AuthoriseOut(
        decision=decision,
        reason=reason,
        authorisation_id=auth_id,
        unit_price=price,
        amount=amount,
        # With a price (in the account's currency), and with a no_price decline, to say which currency has none
        # (that decline comes after the PIN check, so a wrong PIN does not learn the account's currency from it).
        currency=prepared.currency if price is not None or reason == "no_price" else None,
        balance=customer_balance if decision == "approved" else None,
    )


# machines.last_seen_at moves at most this often: fresh enough for the "machine silent for hours" alert rule, and
# the machines row (extracted on every change) is not rewritten by every request.
LAST_SEEN_RESOLUTION = dt.timedelta(minutes=5)


def _stale(last_seen_at: dt.datetime | None, now: dt.datetime) -> bool:
    return last_seen_at is None or last_seen_at < now - LAST_SEEN_RESOLUTION


def touch_machines(conn: Connection, machine_ids: Iterable[int], now: dt.datetime) -> None:
    """Record that these machines talked to the API now (unless they did within LAST_SEEN_RESOLUTION)."""
    table = table_of(Machine)
    stale: Sequence[int] = (
        conn.execute(
            select(table.c.id)
            .where(table.c.id.in_(set(machine_ids)))
            .where(table.c.last_seen_at.is_(None) | (table.c.last_seen_at < now - LAST_SEEN_RESOLUTION))
            .order_by(table.c.id)
        )
        .scalars()
        .all()
    )
    if not stale:
        return  # the usual case: no change number taken, nothing written
    first = allocate_change_seq(conn, len(stale))
    conn.execute(
        update(table).where(table.c.id == bindparam("m")).values(last_seen_at=now, change_seq=bindparam("seq"),
                                                                updated_at=now),
        [{"m": machine_id, "seq": first + offset} for offset, machine_id in enumerate(stale)],
    )  # fmt: skip


def _lock_out(session: Session, prepared: PreparedAuthorisation, client_id: str, failures: int) -> None:
    conn = session.connection()
    table = table_of(Customer)
    now = utcnow()
    conn.execute(
        update(table)
        .where(table.c.id == prepared.customer_id)
        .values(pin_locked_at=now, change_seq=allocate_change_seq(conn, 1), updated_at=now)
    )
    # The pin_lockout alert rule sees the lock (pin_locked_at) within its evaluation interval and tells people.
    log.warning("customer %s locked after %d bad PINs", client_id, failures)


# --- bulk ingestion -----------------------------------------------------------------------------------


def insert_ignore(session: Session, table: Table, rows: list[dict[str, Any]], key: str) -> set[Any]:
    """INSERT ... ON CONFLICT (key) DO NOTHING for many rows; returns the keys actually inserted."""
    if not rows:
        return set()
    conn = session.connection()
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(table).on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])
    return set(conn.execute(stmt, rows).scalars())


def insert_new(session: Session, table: Table, rows: list[dict[str, Any]], key: str) -> set[Any]:
    """Insert rows whose `key` is not stored yet (INSERT ... ON CONFLICT (key) DO NOTHING, one
    executemany); returns the keys this call inserted.

    Every row gets its own fresh change_seq, so when some rows were skipped, the ones inserted are
    exactly those now stored with a change_seq from this call's range: no race with other writers."""
    if not rows:
        return set()
    conn = session.connection()
    stamp_rows(conn, rows)
    written = bulk_insert(conn, table, rows, skip_conflicts_on=key)
    if written == len(rows):
        return {row[key] for row in rows}
    first, last = rows[0]["change_seq"], rows[-1]["change_seq"]
    column = table.c[key]
    inserted: set[Any] = set()
    wanted = [row[key] for row in rows]
    for start in range(0, len(wanted), 5000):
        inserted.update(
            conn.execute(
                select(column).where(column.in_(wanted[start : start + 5000]), table.c.change_seq.between(first, last))
            ).scalars()
        )
    return inserted


def _resolve(session: Session, column: Any, values: Iterable[str]) -> dict[str, int]:
    wanted = set(values)
    if not wanted:
        return {}
    table = table_of(column.class_)  # Core, not ORM: no ORM result processing for 10^3 rows
    key = table.c[column.key]
    rows = session.connection().execute(select(key, table.c.id).where(key.in_(wanted), table.c.deleted_at.is_(None)))
    return {row[0]: row[1] for row in rows}


def dedupe(items: Sequence[Any], key: str, loc: Loc) -> list[Any]:
    """Drop exact repeats of an ID within one request; the same ID with other content is an error."""
    seen: dict[str, Any] = {}
    problems: list[tuple[Loc, str]] = []
    out = []
    for index, item in enumerate(items):
        ident = getattr(item, key)
        if ident in seen:
            if seen[ident] != item:
                problems.append(((*loc, index, key), f"{ident!r} appears twice with different content"))
            continue
        seen[ident] = item
        out.append(item)
    if problems:
        raise Invalid("the batch repeats an ID with different content", problems)
    return out


def _unknown(items: Sequence[Any], field: str, known: Mapping[str, Any], what: str, loc: Loc) -> list[tuple[Loc, str]]:
    return [
        ((*loc, index, field), f"no {what} {getattr(item, field)!r}")
        for index, item in enumerate(items)
        if getattr(item, field) not in known
    ]


class Account(NamedTuple):
    id: int  # customers.id
    currency: str


def _accounts(session: Session, client_ids: Iterable[str]) -> dict[str, Account]:
    """The live customers with these client IDs: their id and account currency."""
    wanted = set(client_ids)
    if not wanted:
        return {}
    rows = session.connection().execute(
        select(_customers.c.client_id, _customers.c.id, _customers.c.currency).where(
            _customers.c.client_id.in_(wanted), _customers.c.deleted_at.is_(None)
        )
    )
    return {row.client_id: Account(row.id, row.currency) for row in rows}


def _foreign_currency(items: Sequence[Any], accounts: Mapping[str, Account], loc: Loc) -> list[tuple[Loc, str]]:
    """Items naming a currency other than their account's (items without one take the account's)."""
    problems: list[tuple[Loc, str]] = []
    for index, item in enumerate(items):
        account = accounts.get(item.client_id)
        if account is not None and item.currency is not None and item.currency != account.currency:
            problems.append(
                ((*loc, index, "currency"), currency_refusal(item.client_id, account.currency, item.currency))
            )
    return problems


VEND_COMPARED = ("machine_id", "customer_id", "product_id", "quantity", "unit_price", "currency", "device_time")


def ingest_vends(session: Session, items: Sequence[VendIn], *, loc: Loc = ("body", "items")) -> IngestOut:
    """Store vend transactions exactly once each, with their ledger debits and stock movements."""
    items = dedupe(items, "id", loc)
    machines = _resolve(session, Machine.serial, (i.machine_serial for i in items))
    accounts = _accounts(session, (i.client_id for i in items))
    products = _resolve(session, Product.sku, (i.sku for i in items))
    problems = _unknown(items, "machine_serial", machines, "machine with serial", loc)
    problems += _unknown(items, "client_id", accounts, "customer with client ID", loc)
    problems += _unknown(items, "sku", products, "product with SKU", loc)
    problems += _foreign_currency(items, accounts, loc)
    if problems:
        raise Invalid("the batch cannot be applied", problems)
    received_at = utcnow()
    rows: list[dict[str, Any]] = []
    for item in items:
        account = accounts[item.client_id]
        rows.append(
            {
                "id": item.id,
                "machine_id": machines[item.machine_serial],
                "customer_id": account.id,
                "product_id": products[item.sku],
                "authorisation_id": item.authorisation_id,
                "quantity": item.quantity,
                "unit_price": item.unit_price,
                "amount": (item.unit_price * item.quantity).quantize(CENT),
                "currency": item.currency or account.currency,
                "status": item.status,
                "device_time": item.device_time,
                "received_at": received_at,
                "offline": item.offline,
            }
        )
    conn = session.connection()
    touch_machines(conn, {row["machine_id"] for row in rows}, received_at)
    inserted = insert_new(session, table_of(VendTransaction), rows, "id")
    duplicates = check_duplicates(session, VendTransaction, rows, inserted, VEND_COMPARED, loc)
    fresh = [row for row in rows if row["id"] in inserted and row["status"] == "completed"]
    if fresh:
        debits = [
            {
                "customer_id": row["customer_id"],
                "kind": "vend",
                "source": "machine",
                "amount": -row["amount"],
                "currency": row["currency"],
                "occurred_at": row["device_time"],
                "vend_transaction_id": row["id"],
            }
            for row in fresh
        ]
        stamp_rows(conn, debits)
        bulk_insert(conn, table_of(AccountEntry), debits)
        _take_stock(session, fresh)
    return IngestOut(received=len(rows), created=len(inserted), duplicates=duplicates)


def _take_stock(session: Session, vends: list[dict[str, Any]]) -> None:
    moved: dict[tuple[int, int], int] = defaultdict(int)
    for row in vends:
        moved[(row["machine_id"], row["product_id"])] += row["quantity"]
    table = table_of(MachineStock)
    conn = session.connection()
    first = allocate_change_seq(conn, len(moved))
    now = utcnow()
    params = [
        {"m": machine_id, "p": product_id, "q": qty, "seq": first + offset, "now": now}
        for offset, ((machine_id, product_id), qty) in enumerate(sorted(moved.items()))
    ]
    conn.execute(
        update(table)
        .where(table.c.machine_id == bindparam("m"), table.c.product_id == bindparam("p"))
        .values(
            quantity=case((table.c.quantity > bindparam("q"), table.c.quantity - bindparam("q")), else_=0),
            change_seq=bindparam("seq"),
            updated_at=bindparam("now"),
        ),
        params,
    )


def check_duplicates(
    session: Session,
    model: Any,
    rows: list[dict[str, Any]],
    inserted: set[Any],
    compared: Sequence[str],
    loc: Loc,
    key: str = "id",
) -> list[str]:
    """IDs that were already stored must carry the same content; else the whole request is refused."""
    repeated = [row for row in rows if row[key] not in inserted]
    if not repeated:
        return []
    column = getattr(model, key)
    found: Sequence[Any] = session.execute(select(model).where(column.in_([r[key] for r in repeated]))).scalars().all()
    stored = {getattr(obj, key): obj for obj in found}
    problems: list[tuple[Loc, str]] = []
    index_of = {row[key]: index for index, row in enumerate(rows)}
    for row in repeated:
        existing = stored.get(row[key])
        if existing is None:
            continue
        fields = [f for f in compared if not (f == "status" and existing.status == "refunded")]
        diff = differing_fields(row, existing, fields)
        if diff:
            problems.append(
                ((*loc, index_of[row[key]], key), f"{row[key]!r} was already stored with other {', '.join(diff)}")
            )
    if problems:
        raise Conflict("some IDs were already stored with different content", problems)
    return [row[key] for row in repeated]


TOPUP_COMPARED = ("customer_id", "kind", "source", "amount", "currency", "occurred_at")


def ingest_topups(session: Session, items: Sequence[TopupIn], *, loc: Loc = ("body", "items")) -> IngestOut:
    """Credit customers' accounts (web portal, phone operator charging the stored card, payroll)."""
    items = dedupe(items, "entry_id", loc)
    accounts = _accounts(session, (i.client_id for i in items))
    hospitals = _resolve(session, Hospital.code, (i.hospital_code for i in items if i.hospital_code))
    problems = _unknown(items, "client_id", accounts, "customer with client ID", loc)
    problems += _foreign_currency(items, accounts, loc)
    for index, item in enumerate(items):
        if item.source == "payroll" and item.hospital_code is None:
            problems.append(((*loc, index, "hospital_code"), "payroll top-ups need the paying hospital"))
        if item.hospital_code is not None and item.hospital_code not in hospitals:
            problems.append(((*loc, index, "hospital_code"), f"no hospital with code {item.hospital_code!r}"))
    if any(i.source == "phone_operator" for i in items):
        with_card = set(
            session.execute(
                select(Customer.id).where(
                    Customer.id.in_({account.id for account in accounts.values()}), Customer.payment_token.is_not(None)
                )
            ).scalars()
        )
        for index, item in enumerate(items):
            account = accounts.get(item.client_id)
            if item.source == "phone_operator" and (account is None or account.id not in with_card):
                problems.append(((*loc, index, "source"), "the customer has no stored card to charge"))
    if problems:
        raise Invalid("the batch cannot be applied", problems)
    rows = [
        {
            "entry_id": item.entry_id,
            "customer_id": accounts[item.client_id].id,
            "kind": "topup",
            "source": item.source,
            "amount": item.amount,
            "currency": item.currency or accounts[item.client_id].currency,
            "occurred_at": item.occurred_at,
            "hospital_id": hospitals.get(item.hospital_code) if item.hospital_code else None,
            "operator_id": item.operator_id,
            "processor_ref": item.processor_ref,
        }
        for item in items
    ]
    check_references(session, AccountEntry, rows, loc, batch=True)
    inserted = insert_new(session, table_of(AccountEntry), rows, "entry_id")
    duplicates = check_duplicates(session, AccountEntry, rows, inserted, TOPUP_COMPARED, loc, key="entry_id")
    return IngestOut(received=len(rows), created=len(inserted), duplicates=duplicates)


def record_adjustment(session: Session, item: AdjustmentIn) -> IngestOut:
    """A refund or manual adjustment (admin). Refunds mark their vend as refunded."""
    customer = session.get(Customer, item.customer_id)
    if customer is None or customer.deleted_at is not None:
        raise Invalid("unknown customer", [(("body", "customer_id"), f"no customer with id {item.customer_id}")])
    vend = None
    if item.vend_transaction_id is not None:
        vend = session.get(VendTransaction, item.vend_transaction_id)
        if vend is None or vend.customer_id != item.customer_id:
            raise Invalid("unknown vend", [(("body", "vend_transaction_id"), "no vend with this ID for this customer")])
    if item.kind == "refund" and item.amount <= 0:
        raise Invalid("bad refund", [(("body", "amount"), "a refund credits the account: must be > 0")])
    if item.currency is not None and item.currency != customer.currency:
        refusal = currency_refusal(item.customer_id, customer.currency, item.currency)
        raise Invalid("the amount is not in the account's currency", [(("body", "currency"), refusal)])
    row = {
        "entry_id": item.entry_id,
        "customer_id": item.customer_id,
        "kind": item.kind,
        "source": "admin",
        "amount": item.amount,
        "currency": item.currency or customer.currency,
        "occurred_at": item.occurred_at,
        "vend_transaction_id": item.vend_transaction_id,
        "note": item.note,
    }
    stamp_rows(session.connection(), [row])
    inserted = insert_ignore(session, table_of(AccountEntry), [row], "entry_id")
    duplicates = check_duplicates(
        session, AccountEntry, [row], inserted, (*TOPUP_COMPARED, "vend_transaction_id"), ("body",), key="entry_id"
    )
    if inserted and vend is not None and item.kind == "refund":
        vend.status = "refunded"
        session.flush()
    return IngestOut(received=1, created=len(inserted), duplicates=duplicates)
