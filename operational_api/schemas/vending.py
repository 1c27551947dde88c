"""Request and response bodies of the vending domain."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, field_validator

from operational_api.models.vending import (
    ACQUISITION_CHANNELS,
    CUSTOMER_ROLES,
    CUSTOMER_STATUSES,
    DECISIONS,
    DECLINE_REASONS,
    ENTRY_KINDS,
    ENTRY_SOURCES,
    MACHINE_STATUSES,
    TOPUP_SOURCES,
    VEND_STATUSES,
)
from operational_api.schemas.common import (
    BUSINESS_CURRENCY,
    MAX_BATCH,
    Amount,
    ClientId,
    ClientTxnId,
    Code,
    CommissionRate,
    Count,
    Currency,
    Day,
    Email,
    ExternalId,
    Id,
    In,
    Locale,
    Name,
    NonNegativeAmount,
    Phone,
    PositiveAmount,
    Quantity,
    Short,
    Stored,
    Str32,
    Str120,
    Str128,
    Str300,
    Str500,
    Timestamp,
    TimeZone,
    Tiny,
)
from operational_api.security import PIN_PATTERN, looks_like_pan
from pulse.core.business import check_currency

MachineStatus = Literal[MACHINE_STATUSES]  # type: ignore[valid-type]
CustomerStatus = Literal[CUSTOMER_STATUSES]  # type: ignore[valid-type]
CustomerRole = Literal[CUSTOMER_ROLES]  # type: ignore[valid-type]
AcquisitionChannel = Literal[ACQUISITION_CHANNELS]  # type: ignore[valid-type]
DeclineReason = Literal[DECLINE_REASONS]  # type: ignore[valid-type]


# The store's enums (operational_api/models), so a value the database refuses is refused at the API.
EntryKind = Literal[ENTRY_KINDS]  # type: ignore[valid-type]
EntrySource = Literal[ENTRY_SOURCES]  # type: ignore[valid-type]
TopupSource = Literal[TOPUP_SOURCES]  # type: ignore[valid-type]
Decision = Literal[DECISIONS]  # type: ignore[valid-type]
VendStatus = Literal[VEND_STATUSES]  # type: ignore[valid-type]

# An account's currency is checked against ISO 4217 (not just three capitals): every amount ever booked to the
# account has to be in it.
AccountCurrency = Annotated[Currency, AfterValidator(check_currency)]

# Where a currency may be left out, the default is decided per schema and never hard-coded here:
# - reference data the business sets itself (commission plans, price lists) defaults to its reporting currency
#   (PULSE_REPORTING_CURRENCY), filled in by the service from the store's settings;
# - money booked to a customer account (top-ups, vends, refunds, adjustments) defaults to that account's currency,
#   which the service looks up; any other currency is refused, since an account holds one currency.
ACCOUNT_CURRENCY = (
    "ISO 4217. Default: the customer account's currency; another currency is refused (422): an account holds one."
)


class CommissionPlanIn(In):
    code: Code
    name: Name
    currency: Currency | None = Field(default=None, description=BUSINESS_CURRENCY)


class CommissionPlanOut(CommissionPlanIn, Stored):
    currency: str


class CommissionTierIn(In):
    plan_id: Id
    min_monthly_kits: Count
    rate: CommissionRate = Field(description="Fraction of net sales, e.g. 0.075.")


class CommissionTierOut(CommissionTierIn, Stored):
    pass


class HospitalIn(In):
    code: Code
    name: Str300
    city: Str120
    region: Str120
    time_zone: TimeZone = "Europe/Moscow"
    commission_plan_id: Id | None = None


class HospitalOut(HospitalIn, Stored):
    pass


class ReportContactIn(In):
    hospital_id: Id
    name: Name
    email: Email
    locale: Locale = "ru"
    role: Str120 | None = None


class ReportContactOut(ReportContactIn, Stored):
    pass


class MachineIn(In):
    serial: Code
    hospital_id: Id
    location: Str300 | None = None
    status: MachineStatus = "active"
    installed_on: Day | None = None


class MachineOut(MachineIn, Stored):
    last_seen_at: Timestamp | None = None


class ProductIn(In):
    sku: Code
    name: Name
    kit_type: Short
    size: Tiny
    active: bool = True


class ProductOut(ProductIn, Stored):
    pass


class ProductPriceIn(In):
    product_id: Id
    price: NonNegativeAmount
    currency: Currency | None = Field(
        default=None,
        description=f"{BUSINESS_CURRENCY} A product may have a price list per currency: a vend is priced in the "
        "customer account's currency.",
    )
    valid_from: Timestamp
    valid_to: Timestamp | None = None


class ProductPriceOut(ProductPriceIn, Stored):
    currency: str


class MachineStockIn(In):
    machine_id: Id
    product_id: Id
    quantity: Count


class MachineStockOut(MachineStockIn, Stored):
    pass


def _token_not_pan(value: str | None) -> str | None:
    if value is not None and looks_like_pan(value):
        raise ValueError("looks like a card number: send the payment processor's token, never the card")
    return value


class CustomerBase(In):
    full_name: Name
    role: CustomerRole
    email: Email | None = None
    phone: Phone | None = None
    locale: Locale = "ru"
    statement_email_consent: bool = False
    home_hospital_id: Id | None = None
    acquisition_channel: AcquisitionChannel = "other"
    status: CustomerStatus = "active"
    currency: AccountCurrency | None = Field(
        default=None,
        description="ISO 4217 currency of the account: top-ups, vends, refunds and the balance are in it. Default: "
        "the business's reporting currency (PULSE_REPORTING_CURRENCY). Fixed once the account has entries.",
    )
    external_id: ExternalId | None = None
    card_brand: Str32 | None = None
    registered_at: Timestamp | None = Field(default=None, description="Default: now.")


class CustomerIn(CustomerBase):
    client_id: str = Field(pattern=r"^[A-Za-z0-9\-]{4,32}$", description="Public client ID typed at machines.")
    pin: str = Field(pattern=PIN_PATTERN, description="4-8 digits. Stored only as a salted hash.")
    payment_token: str | None = Field(
        default=None,
        max_length=128,
        pattern=r"^[A-Za-z0-9_\-:.]+$",
        description="Opaque payment processor token. Card numbers are refused.",
    )

    _no_pan = field_validator("payment_token")(_token_not_pan)


class CustomerPatch(In):
    full_name: Name = None  # type: ignore[assignment]
    role: CustomerRole = None
    email: Email | None = None
    phone: Phone | None = None
    locale: Locale = None  # type: ignore[assignment]
    statement_email_consent: bool = None  # type: ignore[assignment]
    home_hospital_id: Id | None = None
    acquisition_channel: AcquisitionChannel = None
    status: CustomerStatus = None
    currency: AccountCurrency = Field(  # type: ignore[assignment]
        default=None, description="A new account currency: refused (422) once the account has entries."
    )
    card_brand: Str32 | None = None
    pin: str = Field(default=None, pattern=PIN_PATTERN, description="New PIN (4-8 digits).")  # type: ignore[assignment]
    payment_token: str | None = Field(default=None, max_length=128, pattern=r"^[A-Za-z0-9_\-:.]+$")

    _no_pan = field_validator("payment_token")(_token_not_pan)


class CustomerOut(Stored):
    client_id: str
    external_id: str | None
    full_name: str
    role: CustomerRole
    email: str | None
    phone: str | None
    locale: str
    statement_email_consent: bool
    home_hospital_id: int | None
    acquisition_channel: AcquisitionChannel
    status: CustomerStatus
    currency: str
    card_brand: str | None
    failed_pin_count: int
    pin_locked_at: Timestamp | None
    registered_at: Timestamp


class BalanceOut(In):
    customer_id: int
    balance: Decimal = Field(description="The sum of the account's entries, in its currency.")
    currency: str = Field(description="The account's currency (ISO 4217).")


class AccountEntryOut(Stored):
    entry_id: str | None
    customer_id: int
    kind: EntryKind
    source: EntrySource
    amount: Decimal
    currency: str
    occurred_at: Timestamp
    vend_transaction_id: str | None
    hospital_id: int | None
    operator_id: int | None
    processor_ref: str | None
    note: str | None


class VendAuthorisationOut(Stored):
    machine_id: int | None
    customer_id: int | None
    product_id: int | None
    quantity: int
    price: Decimal | None
    decision: Decision
    reason: DeclineReason | None
    requested_at: Timestamp


class VendTransactionOut(In):
    """A stored vend (its id is the client's transaction ID)."""

    id: str
    machine_id: int
    customer_id: int
    product_id: int
    authorisation_id: int | None
    quantity: int
    unit_price: Decimal
    amount: Decimal
    currency: str
    status: VendStatus
    device_time: Timestamp
    received_at: Timestamp
    offline: bool
    created_at: Timestamp
    updated_at: Timestamp
    deleted_at: Timestamp | None
    change_seq: int

    model_config = ConfigDict(from_attributes=True, extra="ignore")


# --- machine traffic -------------------------------------------------------------------------------


class AuthoriseIn(In):
    machine_serial: Code
    client_id: ClientId
    pin: str = Field(min_length=1, max_length=16, description="Never stored or logged.")
    sku: Code
    quantity: Quantity = 1


class AuthoriseOut(In):
    decision: Decision
    reason: DeclineReason | None = Field(
        description="Why it was declined; null when approved. `no_price`: the product has no current price in the "
        "account's currency (`currency`)."
    )
    authorisation_id: int
    unit_price: Decimal | None = Field(default=None, description="The product's price in the account's currency.")
    amount: Decimal | None = None
    currency: str | None = Field(
        default=None, description="The account's currency, the one unit_price, amount and balance are in."
    )
    balance: Decimal | None = Field(default=None, description="Balance before this vend (approved only).")


class VendIn(In):
    id: ClientTxnId = Field(description="Client-generated transaction ID: retries with it are no-ops.")
    machine_serial: Code
    client_id: ClientId
    sku: Code
    quantity: Quantity = 1
    unit_price: NonNegativeAmount
    currency: Currency | None = Field(default=None, description=ACCOUNT_CURRENCY)
    status: Literal["completed", "failed"] = "completed"
    device_time: Timestamp
    authorisation_id: Id | None = None
    offline: bool = False


class VendBatchIn(In):
    items: list[VendIn] = Field(min_length=1, max_length=MAX_BATCH)


class TopupIn(In):
    entry_id: ClientTxnId = Field(description="Client-generated ID: retries with it are no-ops.")
    client_id: ClientId
    amount: PositiveAmount
    currency: Currency | None = Field(default=None, description=ACCOUNT_CURRENCY)
    source: TopupSource
    occurred_at: Timestamp
    hospital_code: Code | None = Field(default=None, description="Paying hospital (payroll top-ups).")
    operator_id: Id | None = Field(default=None, description="Operator who charged the stored card.")
    processor_ref: Str128 | None = None


class TopupBatchIn(In):
    items: list[TopupIn] = Field(min_length=1, max_length=MAX_BATCH)


class AdjustmentIn(In):
    entry_id: ClientTxnId
    customer_id: Id
    kind: Literal["refund", "adjustment"]
    amount: Amount = Field(description="Signed: credit > 0, debit < 0.")
    currency: Currency | None = Field(default=None, description=ACCOUNT_CURRENCY)
    occurred_at: Timestamp
    vend_transaction_id: ClientTxnId | None = Field(
        default=None, description="Refunds: the vend refunded (its status becomes refunded)."
    )
    note: Str500 | None = None


class IngestOut(In):
    received: int = Field(description="Items in the request (after removing exact repeats).")
    created: int = Field(description="Items stored by this request.")
    duplicates: list[str] = Field(description="IDs already stored with the same content (no-ops).")
