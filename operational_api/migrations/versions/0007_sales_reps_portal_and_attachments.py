"""sales reps, the portal"s users and sessions, subscription attachments and audiences

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 08:46:45
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import operational_api.models.base

# Frozen here (not imported from the models) so that this revision means the same thing when the models move on.
REPORT_KINDS_BEFORE = ("hospital_statement", "customer_statement", "executive_weekly", "counterparty_statement")
REPORT_KINDS_AFTER = (*REPORT_KINDS_BEFORE, "sales_rep_statement")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _report_kinds(kinds: tuple[str, ...]) -> None:
    with op.batch_alter_table("report_subscriptions") as batch:
        batch.drop_constraint(op.f("ck_report_subscriptions_report_kind"), type_="check")
        batch.create_check_constraint("report_kind", sa.column("report_kind").in_(kinds))


revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_sign_in_throttle",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("key", sa.String(length=300), nullable=False, comment="account:<email> or address:<ip>."),
        sa.Column("failures", sa.Integer(), nullable=False, comment="Failures since window_started_at."),
        sa.Column(
            "window_started_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=False,
            comment="First failure of the window.",
        ),
        sa.Column(
            "locked_until",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=True,
            comment="Refused until then.",
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sign_in_throttle")),
        sa.UniqueConstraint("key", name=op.f("uq_portal_sign_in_throttle_key")),
        comment="Failed sign-ins per account and per client address, to refuse guessing.",
        info={"extract": False},
    )
    with op.batch_alter_table("portal_sign_in_throttle", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_sign_in_throttle_change_seq"), ["change_seq"], unique=False)

    op.create_table(
        "report_recipient_preferences",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("email", sa.String(length=254), nullable=False, comment="Recipient address, lower-cased."),
        sa.Column(
            "locale",
            sa.Enum("en", "ru", name="preferred_locale", native_enum=False, create_constraint=True, length=32),
            nullable=True,
            comment="Statements in this language, whatever the query says.",
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_recipient_preferences")),
        sa.UniqueConstraint("email", name=op.f("uq_report_recipient_preferences_email")),
        comment="What a report recipient chose on their own page (the language of their statements).",
        info={"extract": False},
    )
    with op.batch_alter_table("report_recipient_preferences", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_recipient_preferences_change_seq"), ["change_seq"], unique=False)

    op.create_table(
        "sales_reps",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("name", sa.String(length=200), nullable=False, comment="Full name."),
        sa.Column("email", sa.String(length=254), nullable=False, comment="Work address (statements go there)."),
        sa.Column(
            "locale",
            sa.Enum("en", "ru", name="sales_rep_locale", native_enum=False, create_constraint=True, length=32),
            nullable=False,
            comment="Statement language: en or ru.",
        ),
        sa.Column(
            "status",
            sa.Enum(
                "active", "inactive", name="sales_rep_status", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
            comment="active or inactive.",
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_reps")),
        sa.UniqueConstraint("email", name=op.f("uq_sales_reps_email")),
        comment="Sales representatives; each looks after a territory of hospitals.",
    )
    with op.batch_alter_table("sales_reps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sales_reps_change_seq"), ["change_seq"], unique=False)

    op.create_table(
        "portal_users",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("email", sa.String(length=254), nullable=False, comment="Sign-in address, lower-cased."),
        sa.Column("name", sa.String(length=200), nullable=False, comment="Display name."),
        sa.Column(
            "role",
            sa.Enum(
                "admin",
                "report_manager",
                "sales_rep",
                name="portal_role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
            comment="admin, report_manager, sales_rep.",
        ),
        sa.Column(
            "sales_rep_id",
            sa.BigInteger(),
            nullable=True,
            comment="A sales_rep user's own record; NULL for other roles.",
        ),
        sa.Column(
            "locale",
            sa.Enum("en", "ru", name="portal_locale", native_enum=False, create_constraint=True, length=32),
            nullable=False,
            comment="Portal language: en or ru.",
        ),
        sa.Column(
            "password_hash",
            sa.String(length=300),
            nullable=False,
            comment="scrypt$n$r$p$salt$hash (never the password).",
        ),
        sa.Column(
            "last_sign_in_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=True,
            comment="Last successful sign-in.",
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
        sa.ForeignKeyConstraint(
            ["sales_rep_id"], ["sales_reps.id"], name=op.f("fk_portal_users_sales_rep_id_sales_reps")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_users")),
        sa.UniqueConstraint("email", name=op.f("uq_portal_users_email")),
        comment="Staff who sign in to the portal; only a scrypt hash of the password.",
        info={"extract": False},
    )
    with op.batch_alter_table("portal_users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_users_change_seq"), ["change_seq"], unique=False)

    op.create_table(
        "portal_sessions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("user_id", sa.BigInteger(), nullable=False, comment="Who."),
        sa.Column("token_sha256", sa.String(length=64), nullable=False, comment="hex SHA-256 of the session cookie."),
        sa.Column(
            "expires_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=False,
            comment="Absolute expiry.",
        ),
        sa.Column(
            "last_seen_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=False,
            comment="Last request (idle expiry).",
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
        sa.ForeignKeyConstraint(["user_id"], ["portal_users.id"], name=op.f("fk_portal_sessions_user_id_portal_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sessions")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_portal_sessions_token_sha256")),
        comment="Signed-in portal sessions; only the SHA-256 of the cookie.",
        info={"extract": False},
    )
    with op.batch_alter_table("portal_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_sessions_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_portal_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "sales_rep_territories",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("sales_rep_id", sa.BigInteger(), nullable=False, comment="Sales rep."),
        sa.Column("hospital_id", sa.BigInteger(), nullable=False, comment="Hospital in the territory."),
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
            ["hospital_id"], ["hospitals.id"], name=op.f("fk_sales_rep_territories_hospital_id_hospitals")
        ),
        sa.ForeignKeyConstraint(
            ["sales_rep_id"], ["sales_reps.id"], name=op.f("fk_sales_rep_territories_sales_rep_id_sales_reps")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_rep_territories")),
        sa.UniqueConstraint(
            "sales_rep_id", "hospital_id", name=op.f("uq_sales_rep_territories_sales_rep_id_hospital_id")
        ),
        comment="Which hospitals (and so their machines) a sales rep looks after.",
    )
    with op.batch_alter_table("sales_rep_territories", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sales_rep_territories_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_sales_rep_territories_hospital_id"), ["hospital_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sales_rep_territories_sales_rep_id"), ["sales_rep_id"], unique=False)

    # Add nullable, fill, then NOT NULL (as 0006 does).
    with op.batch_alter_table("report_subscriptions") as batch_op:
        batch_op.add_column(
            sa.Column(
                "attachments",
                JSON,
                nullable=True,
                comment="Besides the PDF, its tables as: csv, xlsx (a JSON list, may be empty).",
            )
        )
        batch_op.add_column(
            sa.Column(
                "audience",
                JSON,
                nullable=True,
                comment="The audience preset the recipient query was written from, and its choices (NULL: written by hand).",
            )
        )
    op.execute(sa.text("UPDATE report_subscriptions SET attachments = '[]'"))
    with op.batch_alter_table("report_subscriptions") as batch_op:
        batch_op.alter_column("attachments", existing_type=JSON, nullable=False)
    _report_kinds(REPORT_KINDS_AFTER)


def downgrade() -> None:
    op.execute(
        sa.text(
            "DELETE FROM report_unsubscribes WHERE subscription_id IN "
            "(SELECT id FROM report_subscriptions WHERE report_kind = 'sales_rep_statement')"
        )
    )
    op.execute(
        sa.text(
            "DELETE FROM report_deliveries WHERE subscription_id IN "
            "(SELECT id FROM report_subscriptions WHERE report_kind = 'sales_rep_statement')"
        )
    )
    op.execute(sa.text("DELETE FROM report_subscriptions WHERE report_kind = 'sales_rep_statement'"))
    _report_kinds(REPORT_KINDS_BEFORE)
    with op.batch_alter_table("report_subscriptions", schema=None) as batch_op:
        batch_op.drop_column("audience")
        batch_op.drop_column("attachments")

    with op.batch_alter_table("sales_rep_territories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sales_rep_territories_sales_rep_id"))
        batch_op.drop_index(batch_op.f("ix_sales_rep_territories_hospital_id"))
        batch_op.drop_index(batch_op.f("ix_sales_rep_territories_change_seq"))

    op.drop_table("sales_rep_territories")
    with op.batch_alter_table("portal_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_sessions_user_id"))
        batch_op.drop_index(batch_op.f("ix_portal_sessions_change_seq"))

    op.drop_table("portal_sessions")
    with op.batch_alter_table("portal_users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_users_change_seq"))

    op.drop_table("portal_users")
    with op.batch_alter_table("sales_reps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sales_reps_change_seq"))

    op.drop_table("sales_reps")
    with op.batch_alter_table("report_recipient_preferences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_recipient_preferences_change_seq"))

    op.drop_table("report_recipient_preferences")
    with op.batch_alter_table("portal_sign_in_throttle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_sign_in_throttle_change_seq"))

    op.drop_table("portal_sign_in_throttle")
