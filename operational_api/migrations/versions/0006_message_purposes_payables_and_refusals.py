"""messages say their purpose and carry NPS answers; invoices are receivable or payable; insurers' refusals

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 06:10:00

- `messages.purpose` (NOT NULL, one of MESSAGE_PURPOSES): existing messages take it from the templates Pulse's
  own simulator and the clinics' CRMs used (`appointment_reminder` -> day_before_reminder, `nps_survey`,
  `birthday`, `booking_confirmation`, `same_day_notice`), anything else -> other.
- `messages.nps_score` (0-10, NULL unless answered).
- `invoices.direction` (NOT NULL): every existing invoice was issued by the company -> receivable.
- `invoice_refusals`: amounts of receivable invoices an insurer refused to pay, with the reason.
- `payments` also settle payables (the company pays a partner clinic's bill): their comments say so.

The backfills set values without bumping change_seq: extract-load reloads a table whose raw copy lacks a column
(`extractors.load`), so the warehouse gets every row's new value anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import operational_api.models.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (not imported from the models) so that this revision means the same thing when the models move on.
MESSAGE_PURPOSES = (
    "booking_confirmation", "day_before_reminder", "same_day_notice", "birthday", "nps_survey", "marketing", "other",
)  # fmt: skip
INVOICE_DIRECTIONS = ("receivable", "payable")
REFUSAL_REASONS = (
    "not_covered", "no_referral", "missing_documents", "coding_error", "policy_expired", "duplicate", "price_dispute",
    "other",
)  # fmt: skip
PURPOSE_OF_TEMPLATE = {
    "appointment_reminder": "day_before_reminder",
    "day_before_reminder": "day_before_reminder",
    "booking_confirmation": "booking_confirmation",
    "same_day_notice": "same_day_notice",
    "birthday": "birthday",
    "nps_survey": "nps_survey",
}
DIRECTION_COMMENT = "receivable (the company bills the counterparty) or payable (the counterparty bills the company)."
PAYMENTS_COMMENTS = (  # (before, after): payments now also settle payables
    ("Payments received from counterparties.", "Payments received from (receivable invoices) or made to (payable) counterparties."),
    ("Payer.", "Payer, or payee of a payable."),
)  # fmt: skip


def _payments_comments(*, upgrading: bool) -> None:
    """SQLite keeps no comments; PostgreSQL's say what the models say."""
    if op.get_bind().dialect.name == "sqlite":
        return
    (table_before, table_after), (payer_before, payer_after) = PAYMENTS_COMMENTS
    if not upgrading:
        table_before, table_after, payer_before, payer_after = table_after, table_before, payer_after, payer_before
    op.create_table_comment("payments", table_after, existing_comment=table_before)
    op.alter_column("payments", "counterparty_id", existing_type=sa.BigInteger(), existing_nullable=False,
                    comment=payer_after, existing_comment=payer_before)  # fmt: skip


def _purpose_backfill() -> sa.Update:
    messages = sa.table("messages", sa.column("template", sa.String), sa.column("purpose", sa.String))
    purpose = sa.case(*((messages.c.template == t, p) for t, p in PURPOSE_OF_TEMPLATE.items()), else_="other")
    return messages.update().values(purpose=purpose)


def upgrade() -> None:
    # Add nullable, fill, then NOT NULL plus the CHECK an enum() column carries, under the name the naming convention
    # gives it (as 0005 does). The NOT NULL step rebuilds the table on SQLite; env.py turns foreign keys off around it.
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("purpose", sa.String(length=32), nullable=True, comment="What the message is for."))
        batch.add_column(
            sa.Column(
                "nps_score", sa.SmallInteger(), nullable=True, comment="The recipient's answer to an NPS survey, 0-10."
            )
        )
    op.execute(_purpose_backfill())
    with op.batch_alter_table("messages") as batch:
        batch.alter_column("purpose", existing_type=sa.String(length=32), nullable=False)
        batch.create_check_constraint("message_purpose", sa.column("purpose").in_(MESSAGE_PURPOSES))
        batch.create_check_constraint("nps_score", sa.text("nps_score BETWEEN 0 AND 10"))

    with op.batch_alter_table("invoices") as batch:
        batch.add_column(sa.Column("direction", sa.String(length=32), nullable=True, comment=DIRECTION_COMMENT))
    op.execute(sa.text("UPDATE invoices SET direction = 'receivable'"))
    with op.batch_alter_table("invoices") as batch:
        batch.alter_column("direction", existing_type=sa.String(length=32), nullable=False)
        batch.create_check_constraint("invoice_direction", sa.column("direction").in_(INVOICE_DIRECTIONS))
    _payments_comments(upgrading=True)

    utc = operational_api.models.base.UTCDateTime(timezone=True)
    op.create_table(
        "invoice_refusals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column(
            "external_id", sa.String(length=128), nullable=True, comment="ID in the source system (one-way sync key)."
        ),
        sa.Column("invoice_id", sa.BigInteger(), nullable=False, comment="Invoice refused (in part)."),
        sa.Column("refused_on", sa.Date(), nullable=False, comment="When the refusal was received."),
        sa.Column(
            "amount",
            sa.Numeric(precision=14, scale=2),
            nullable=False,
            comment="Amount refused, in the invoice's currency.",
        ),
        sa.Column("currency", sa.String(length=3), nullable=False, comment="ISO 4217 currency (the invoice's)."),
        sa.Column(
            "reason",
            sa.Enum(*REFUSAL_REASONS, name="refusal_reason", native_enum=False, create_constraint=True, length=32),
            nullable=False,
            comment="Why it was refused.",
        ),
        sa.Column("comment", sa.String(length=500), nullable=True, comment="The insurer's wording."),
        sa.Column("created_at", utc, nullable=False, comment="When the row was first written (UTC)."),
        sa.Column("updated_at", utc, nullable=False, comment="When the row was last written (UTC)."),
        sa.Column(
            "deleted_at",
            utc,
            nullable=True,
            comment="Tombstone: when the row was deleted (rows are never removed); NULL while live.",
        ),
        sa.Column(
            "change_seq",
            sa.BigInteger(),
            nullable=False,
            comment="Global change sequence, strictly increasing in commit order; bumped on every insert, update and "
            "tombstone. Extract incrementally with change_seq > watermark.",
        ),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_refusals_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_refusals")),
        sa.UniqueConstraint("external_id", name=op.f("uq_invoice_refusals_external_id")),
        comment="Amounts of receivable invoices an insurer refused to pay, with the reason.",
    )
    with op.batch_alter_table("invoice_refusals") as batch:
        batch.create_index(batch.f("ix_invoice_refusals_change_seq"), ["change_seq"], unique=False)
        batch.create_index(batch.f("ix_invoice_refusals_invoice_id"), ["invoice_id"], unique=False)


def downgrade() -> None:
    op.drop_table("invoice_refusals")
    _payments_comments(upgrading=False)
    with op.batch_alter_table("invoices") as batch:
        batch.drop_constraint(op.f("ck_invoices_invoice_direction"), type_="check")
        batch.drop_column("direction")
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint(op.f("ck_messages_nps_score"), type_="check")
        batch.drop_constraint(op.f("ck_messages_message_purpose"), type_="check")
        batch.drop_column("nps_score")
        batch.drop_column("purpose")
