"""report subscriptions, delivery ledger, unsubscribes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:39:40
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import operational_api.models.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_subscriptions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("name", sa.String(length=200), nullable=False, comment="Unique name, used by the CLI."),
        sa.Column("description", sa.String(length=1000), nullable=True, comment="What it is for."),
        sa.Column(
            "report_kind",
            sa.Enum(
                "hospital_statement",
                "customer_statement",
                "executive_weekly",
                "counterparty_statement",
                name="report_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
            comment="Which report.",
        ),
        sa.Column("cron", sa.String(length=120), nullable=False, comment="Five-field cron expression of the schedule."),
        sa.Column(
            "time_zone", sa.String(length=64), nullable=False, comment="IANA time zone the cron is evaluated in."
        ),
        sa.Column(
            "format",
            sa.Enum("pdf", name="report_format", native_enum=False, create_constraint=True, length=32),
            nullable=False,
            comment="pdf.",
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False, comment="Disabled subscriptions never fire."),
        sa.Column(
            "recipient_query",
            sa.Text(),
            nullable=False,
            comment="Warehouse SELECT run as the read-only user: one row per recipient (email, locale, optional name, the report's parameters).",
        ),
        sa.Column(
            "last_fired_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=True,
            comment="Latest schedule fire time whose deliveries were planned (UTC).",
        ),
        sa.Column(
            "created_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the row was first written (UTC).",
        ),
        sa.Column(
            "updated_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the row was last written (UTC).",
        ),
        sa.Column(
            "deleted_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=True,
            comment="Tombstone: when the row was deleted (rows are never removed); NULL while live.",
        ),
        sa.Column(
            "change_seq",
            sa.BigInteger(),
            nullable=False,
            comment="Global change sequence, strictly increasing in commit order; bumped on every insert, update and tombstone. Extract incrementally with change_seq > watermark.",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_subscriptions")),
        sa.UniqueConstraint("name", name=op.f("uq_report_subscriptions_name")),
        comment="Data-driven report subscriptions: report kind, schedule and a recipient query.",
        info={"extract": False},
    )
    with op.batch_alter_table("report_subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_subscriptions_change_seq"), ["change_seq"], unique=False)

    op.create_table(
        "report_deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("subscription_id", sa.BigInteger(), nullable=False, comment="Subscription."),
        sa.Column("email", sa.String(length=254), nullable=False, comment="Recipient address, lower-cased."),
        sa.Column("period", sa.String(length=16), nullable=False, comment="Reported period: YYYY-MM or YYYY-Www."),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
            comment="Report parameters (strings).",
        ),
        sa.Column(
            "params_sha256",
            sa.String(length=64),
            nullable=False,
            comment="hex SHA-256 of the canonical parameters (part of the unique key).",
        ),
        sa.Column("locale", sa.String(length=8), nullable=False, comment="Report language (en or ru)."),
        sa.Column("recipient_name", sa.String(length=200), nullable=True, comment="Recipient's display name."),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "sending",
                "sent",
                "failed",
                "skipped",
                "in_doubt",
                name="delivery_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
            comment="pending, sending, sent, failed, skipped, in_doubt.",
        ),
        sa.Column("attempts", sa.Integer(), nullable=False, comment="Send attempts so far."),
        sa.Column("last_error", sa.String(length=2000), nullable=True, comment="Why the last attempt failed."),
        sa.Column(
            "message_id",
            sa.String(length=255),
            nullable=True,
            comment="Message-ID header (derived from subscription, recipient, period).",
        ),
        sa.Column(
            "next_attempt_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=True,
            comment="When a failed delivery is retried; NULL when it is not.",
        ),
        sa.Column(
            "claimed_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=True,
            comment="When the last send began.",
        ),
        sa.Column(
            "sent_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=True,
            comment="When the server accepted it.",
        ),
        sa.Column("run_id", sa.String(length=250), nullable=True, comment="The run that last planned or tried it."),
        sa.Column(
            "created_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the row was first written (UTC).",
        ),
        sa.Column(
            "updated_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the row was last written (UTC).",
        ),
        sa.Column(
            "deleted_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=True,
            comment="Tombstone: when the row was deleted (rows are never removed); NULL while live.",
        ),
        sa.Column(
            "change_seq",
            sa.BigInteger(),
            nullable=False,
            comment="Global change sequence, strictly increasing in commit order; bumped on every insert, update and tombstone. Extract incrementally with change_seq > watermark.",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["report_subscriptions.id"],
            name=op.f("fk_report_deliveries_subscription_id_report_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_deliveries")),
        sa.UniqueConstraint(
            "subscription_id",
            "email",
            "period",
            "params_sha256",
            name=op.f("uq_report_deliveries_subscription_id_email_period_params_sha256"),
        ),
        comment="Delivery ledger: one row per statement (subscription, recipient, period, parameters).",
        info={"extract": False},
    )
    with op.batch_alter_table("report_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_deliveries_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index("ix_report_deliveries_state_next_attempt_at", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_report_deliveries_subscription_id"), ["subscription_id"], unique=False)

    op.create_table(
        "report_unsubscribes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("subscription_id", sa.BigInteger(), nullable=False, comment="Subscription."),
        sa.Column("email", sa.String(length=254), nullable=False, comment="Address, lower-cased."),
        sa.Column(
            "created_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the row was first written (UTC).",
        ),
        sa.Column(
            "updated_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the row was last written (UTC).",
        ),
        sa.Column(
            "deleted_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=True,
            comment="Tombstone: when the row was deleted (rows are never removed); NULL while live.",
        ),
        sa.Column(
            "change_seq",
            sa.BigInteger(),
            nullable=False,
            comment="Global change sequence, strictly increasing in commit order; bumped on every insert, update and tombstone. Extract incrementally with change_seq > watermark.",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["report_subscriptions.id"],
            name=op.f("fk_report_unsubscribes_subscription_id_report_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_unsubscribes")),
        sa.UniqueConstraint("subscription_id", "email", name=op.f("uq_report_unsubscribes_subscription_id_email")),
        comment="Recipients who followed an unsubscribe link: they get nothing more from it.",
        info={"extract": False},
    )
    with op.batch_alter_table("report_unsubscribes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_unsubscribes_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_report_unsubscribes_subscription_id"), ["subscription_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("report_unsubscribes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_unsubscribes_subscription_id"))
        batch_op.drop_index(batch_op.f("ix_report_unsubscribes_change_seq"))

    op.drop_table("report_unsubscribes")
    with op.batch_alter_table("report_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_deliveries_subscription_id"))
        batch_op.drop_index("ix_report_deliveries_state_next_attempt_at")
        batch_op.drop_index(batch_op.f("ix_report_deliveries_change_seq"))

    op.drop_table("report_deliveries")
    with op.batch_alter_table("report_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_subscriptions_change_seq"))

    op.drop_table("report_subscriptions")
