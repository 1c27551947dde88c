"""Writing activity into the operational store through the ORM (change_seq stamped), as the API would."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.orm import Session

from operational_api.models import AccountEntry, Customer, VendTransaction


def sell(
    session: Session, vend_id: str, *, machine_id: int, customer_id: int, product_id: int, quantity: int,
    unit_price: Decimal, at: dt.datetime,
) -> None:  # fmt: skip
    """A completed vend at `at`, in the currency of the customer's account, and the debit of its amount on it."""
    amount = unit_price * quantity
    currency = session.get_one(Customer, customer_id).currency
    session.add(
        VendTransaction(
            id=vend_id, machine_id=machine_id, customer_id=customer_id, product_id=product_id, quantity=quantity,
            unit_price=unit_price, amount=amount, currency=currency, status="completed", device_time=at,
            received_at=at, offline=False,
        )
    )  # fmt: skip
    session.flush()
    session.add(
        AccountEntry(
            customer_id=customer_id, kind="vend", source="machine", amount=-amount, currency=currency, occurred_at=at,
            vend_transaction_id=vend_id,
        )
    )  # fmt: skip
