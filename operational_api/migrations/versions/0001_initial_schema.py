"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 12:58:09.583977
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import operational_api.models.base

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("name", sa.String(length=200), nullable=False, comment="Who or what uses the key."),
        sa.Column(
            "scope", sa.String(length=32), nullable=False, comment="machine, portal, operator, integration, admin."
        ),
        sa.Column(
            "prefix", sa.String(length=16), nullable=False, comment="First characters of the key, to recognise it."
        ),
        sa.Column("key_sha256", sa.String(length=64), nullable=False, comment="hex SHA-256 of the key."),
        sa.Column(
            "last_used_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=True,
            comment="Unused; reserved.",
        ),
        sa.Column(
            "revoked_at", operational_api.models.base.UTCDateTime(timezone=True), nullable=True, comment="When revoked."
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_sha256", name=op.f("uq_api_keys_key_sha256")),
        comment="API keys; only the SHA-256 of the key is stored.",
        info={"extract": False},
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_change_seq"), ["change_seq"], unique=False)

    op.create_table(
        "branches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column(
            "external_id", sa.String(length=128), nullable=True, comment="ID in the source system (one-way sync key)."
        ),
        sa.Column("name", sa.String(length=200), nullable=False, comment="Branch name."),
        sa.Column("city", sa.String(length=120), nullable=True, comment="City."),
        sa.Column("address", sa.String(length=300), nullable=True, comment="Street address."),
        sa.Column("time_zone", sa.String(length=64), nullable=False, comment="IANA time zone."),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_branches")),
        sa.UniqueConstraint("external_id", name=op.f("uq_branches_external_id")),
        comment="Clinic branches where appointments happen.",
    )
    with op.batch_alter_table("branches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_branches_change_seq"), ["change_seq"], unique=False)

    op.create_table(
        "campaigns",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column(
            "external_id", sa.String(length=128), nullable=True, comment="ID in the source system (one-way sync key)."
        ),
        sa.Column("name", sa.String(length=200), nullable=False, comment="Campaign name."),
        sa.Column("channel", sa.String(length=64), nullable=False, comment="Ad channel, e.g. yandex_direct, vk, seo."),
        sa.Column("utm_source", sa.String(length=128), nullable=True, comment="utm_source."),
        sa.Column("utm_medium", sa.String(length=128), nullable=True, comment="utm_medium."),
        sa.Column("utm_campaign", sa.String(length=128), nullable=True, comment="utm_campaign."),
        sa.Column("starts_on", sa.Date(), nullable=True, comment="First day."),
        sa.Column("ends_on", sa.Date(), nullable=True, comment="Last day."),
        sa.Column("budget", sa.Numeric(precision=14, scale=2), nullable=True, comment="Planned budget."),
        sa.Column("currency", sa.String(length=3), nullable=False, comment="ISO 4217 currency."),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("external_id", name=op.f("uq_campaigns_external_id")),
        comment="Marketing campaigns (UTM-tagged).",
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaigns_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaigns_utm_campaign"), ["utm_campaign"], unique=False)

    op.create_table(
        "commission_plans",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("code", sa.String(length=64), nullable=False, comment="Stable plan code."),
        sa.Column("name", sa.String(length=200), nullable=False, comment="Human name of the plan."),
        sa.Column("currency", sa.String(length=3), nullable=False, comment="ISO 4217 currency of the plan."),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commission_plans")),
        sa.UniqueConstraint("code", name=op.f("uq_commission_plans_code")),
        comment="Commission plans paid to hospitals; rates come from volume tiers.",
    )
    with op.batch_alter_table("commission_plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commission_plans_change_seq"), ["change_seq"], unique=False)

    op.create_table(
        "contacts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column(
            "external_id", sa.String(length=128), nullable=True, comment="ID in the source system (one-way sync key)."
        ),
        sa.Column("full_name", sa.String(length=200), nullable=False, comment="Full name."),
        sa.Column("phone", sa.String(length=32), nullable=True, comment="Phone number."),
        sa.Column("email", sa.String(length=254), nullable=True, comment="Email."),
        sa.Column("birth_date", sa.Date(), nullable=True, comment="Date of birth."),
        sa.Column("gender", sa.String(length=16), nullable=True, comment="Gender as recorded."),
        sa.Column("city", sa.String(length=120), nullable=True, comment="City."),
        sa.Column("source", sa.String(length=64), nullable=True, comment="First acquisition source."),
        sa.Column("marketing_consent", sa.Boolean(), nullable=False, comment="Agreed to marketing messages."),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("external_id", name=op.f("uq_contacts_external_id")),
        comment="Patients / clients; external_id is the medical information system ID.",
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_contacts_phone"), ["phone"], unique=False)

    op.create_table(
        "counterparties",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column(
            "external_id", sa.String(length=128), nullable=True, comment="ID in the source system (one-way sync key)."
        ),
        sa.Column("name", sa.String(length=300), nullable=False, comment="Legal name."),
        sa.Column(
            "kind",
            sa.Enum(
                "insurer",
                "assistance",
                "partner_clinic",
                "other",
                name="counterparty_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
            comment="insurer, assistance, partner_clinic, other.",
        ),
        sa.Column("country", sa.String(length=2), nullable=True, comment="ISO 3166 country code."),
        sa.Column("currency", sa.String(length=3), nullable=False, comment="Default invoicing currency."),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counterparties")),
        sa.UniqueConstraint("external_id", name=op.f("uq_counterparties_external_id")),
        comment="Insurers, assistance companies, partner clinics.",
    )
    with op.batch_alter_table("counterparties", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_counterparties_change_seq"), ["change_seq"], unique=False)

    op.create_table(
        "fx_rates",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("day", sa.Date(), nullable=False, comment="Rate date."),
        sa.Column("base_currency", sa.String(length=3), nullable=False, comment="ISO 4217 base currency."),
        sa.Column("quote_currency", sa.String(length=3), nullable=False, comment="ISO 4217 quote currency."),
        sa.Column("rate", sa.Numeric(precision=18, scale=8), nullable=False, comment="Units of quote per one base."),
        sa.Column("source", sa.String(length=64), nullable=True, comment="Where the rate came from."),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fx_rates")),
        sa.UniqueConstraint(
            "day", "base_currency", "quote_currency", name=op.f("uq_fx_rates_day_base_currency_quote_currency")
        ),
        comment="Daily FX rates: 1 base = rate quote.",
    )
    with op.batch_alter_table("fx_rates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fx_rates_change_seq"), ["change_seq"], unique=False)

    op.create_table(
        "operators",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column(
            "external_id", sa.String(length=128), nullable=True, comment="ID in the source system (one-way sync key)."
        ),
        sa.Column("name", sa.String(length=200), nullable=False, comment="Operator's name."),
        sa.Column("email", sa.String(length=254), nullable=True, comment="Work email."),
        sa.Column("team", sa.String(length=120), nullable=True, comment="Team or shift."),
        sa.Column("is_robot", sa.Boolean(), nullable=False, comment="A voice robot, not a person."),
        sa.Column("active", sa.Boolean(), nullable=False, comment="Still working."),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
        sa.UniqueConstraint("external_id", name=op.f("uq_operators_external_id")),
        comment="Call-centre and front-desk operators (and robots).",
    )
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_operators_change_seq"), ["change_seq"], unique=False)

    op.create_table(
        "pipelines",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("code", sa.String(length=64), nullable=False, comment="Stable code."),
        sa.Column("name", sa.String(length=200), nullable=False, comment="Name."),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipelines")),
        sa.UniqueConstraint("code", name=op.f("uq_pipelines_code")),
        comment="Sales pipelines.",
    )
    with op.batch_alter_table("pipelines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pipelines_change_seq"), ["change_seq"], unique=False)

    op.create_table(
        "products",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("sku", sa.String(length=64), nullable=False, comment="Stock keeping unit."),
        sa.Column("name", sa.String(length=200), nullable=False, comment="Product name."),
        sa.Column("kit_type", sa.String(length=64), nullable=False, comment="Kit type, e.g. surgical, scrubs, gown."),
        sa.Column("size", sa.String(length=16), nullable=False, comment="Size, e.g. S, M, L, XL."),
        sa.Column("active", sa.Boolean(), nullable=False, comment="Still sold."),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("sku", name=op.f("uq_products_sku")),
        comment="Kit products (SKUs).",
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_products_change_seq"), ["change_seq"], unique=False)

    op.create_table(
        "pulse_change_seq",
        sa.Column("id", sa.Integer(), nullable=False, comment="Always 1: the table has one row."),
        sa.Column("value", sa.BigInteger(), nullable=False, comment="Last change_seq handed out."),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pulse_change_seq")),
        comment="One-row counter behind every table's change_seq (internal; not extracted).",
        info={"extract": False},
    )
    # The counter starts at 0: the first change_seq handed out is 1.
    op.bulk_insert(operational_api.models.base.change_seq_counter, [{"id": 1, "value": 0}])
    op.create_table(
        "ad_spend",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False, comment="Campaign."),
        sa.Column("day", sa.Date(), nullable=False, comment="Day of spend."),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False, comment="Spend that day."),
        sa.Column("currency", sa.String(length=3), nullable=False, comment="ISO 4217 currency."),
        sa.Column("impressions", sa.BigInteger(), nullable=True, comment="Impressions."),
        sa.Column("clicks", sa.BigInteger(), nullable=True, comment="Clicks."),
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
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name=op.f("fk_ad_spend_campaign_id_campaigns")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ad_spend")),
        sa.UniqueConstraint("campaign_id", "day", name=op.f("uq_ad_spend_campaign_id_day")),
        comment="Daily advertising spend of a campaign.",
    )
    with op.batch_alter_table("ad_spend", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ad_spend_change_seq"), ["change_seq"], unique=False)

    op.create_table(
        "commission_tiers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("plan_id", sa.BigInteger(), nullable=False, comment="Plan this tier belongs to."),
        sa.Column(
            "min_monthly_kits",
            sa.Integer(),
            nullable=False,
            comment="Lower bound (inclusive) of kits sold per month for this tier.",
        ),
        sa.Column(
            "rate",
            sa.Numeric(precision=6, scale=4),
            nullable=False,
            comment="Commission as a fraction of net sales, e.g. 0.0750 = 7.5%.",
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
            ["plan_id"], ["commission_plans.id"], name=op.f("fk_commission_tiers_plan_id_commission_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commission_tiers")),
        sa.UniqueConstraint("plan_id", "min_monthly_kits", name=op.f("uq_commission_tiers_plan_id_min_monthly_kits")),
        comment="Volume tiers of a commission plan: the rate applies from min_monthly_kits up.",
    )
    with op.batch_alter_table("commission_tiers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commission_tiers_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_commission_tiers_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "doctors",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column(
            "external_id", sa.String(length=128), nullable=True, comment="ID in the source system (one-way sync key)."
        ),
        sa.Column("name", sa.String(length=200), nullable=False, comment="Doctor's name."),
        sa.Column("specialty", sa.String(length=120), nullable=True, comment="Specialty, e.g. orthodontist."),
        sa.Column("branch_id", sa.BigInteger(), nullable=True, comment="Main branch."),
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
        sa.ForeignKeyConstraint(["branch_id"], ["branches.id"], name=op.f("fk_doctors_branch_id_branches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_doctors")),
        sa.UniqueConstraint("external_id", name=op.f("uq_doctors_external_id")),
        comment="Doctors seeing patients in appointments.",
    )
    with op.batch_alter_table("doctors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_doctors_branch_id"), ["branch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_doctors_change_seq"), ["change_seq"], unique=False)

    op.create_table(
        "hospitals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("code", sa.String(length=64), nullable=False, comment="Stable hospital code."),
        sa.Column("name", sa.String(length=300), nullable=False, comment="Hospital name."),
        sa.Column("city", sa.String(length=120), nullable=False, comment="City."),
        sa.Column("region", sa.String(length=120), nullable=False, comment="Region / federal subject."),
        sa.Column("time_zone", sa.String(length=64), nullable=False, comment="IANA time zone, e.g. Europe/Moscow."),
        sa.Column("commission_plan_id", sa.BigInteger(), nullable=True, comment="Commission plan in force."),
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
            ["commission_plan_id"],
            ["commission_plans.id"],
            name=op.f("fk_hospitals_commission_plan_id_commission_plans"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hospitals")),
        sa.UniqueConstraint("code", name=op.f("uq_hospitals_code")),
        comment="Hospitals hosting vending machines (the platform's B2B clients).",
    )
    with op.batch_alter_table("hospitals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hospitals_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_hospitals_commission_plan_id"), ["commission_plan_id"], unique=False)

    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("api_key_id", sa.BigInteger(), nullable=False, comment="Caller."),
        sa.Column("key", sa.String(length=255), nullable=False, comment="The Idempotency-Key header value."),
        sa.Column("endpoint", sa.String(length=255), nullable=False, comment="Method and path the key was used on."),
        sa.Column("request_sha256", sa.String(length=64), nullable=False, comment="hex SHA-256 of the request body."),
        sa.Column("status_code", sa.Integer(), nullable=False, comment="HTTP status of the stored response."),
        sa.Column("response_body", sa.LargeBinary(), nullable=False, comment="Stored response body (JSON)."),
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
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.id"], name=op.f("fk_idempotency_keys_api_key_id_api_keys")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("api_key_id", "key", name=op.f("uq_idempotency_keys_api_key_id_key")),
        comment="Responses of requests sent with an Idempotency-Key, replayed on retry.",
        info={"extract": False},
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotency_keys_change_seq"), ["change_seq"], unique=False)

    op.create_table(
        "invoices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column(
            "external_id", sa.String(length=128), nullable=True, comment="ID in the source system (one-way sync key)."
        ),
        sa.Column("number", sa.String(length=64), nullable=False, comment="Invoice number."),
        sa.Column("counterparty_id", sa.BigInteger(), nullable=False, comment="Billed counterparty."),
        sa.Column("issued_on", sa.Date(), nullable=False, comment="Issue date."),
        sa.Column("due_on", sa.Date(), nullable=True, comment="Due date."),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False, comment="Total amount."),
        sa.Column("currency", sa.String(length=3), nullable=False, comment="ISO 4217 currency."),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "issued",
                "partially_paid",
                "paid",
                "cancelled",
                name="invoice_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
            comment="Status.",
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
            ["counterparty_id"], ["counterparties.id"], name=op.f("fk_invoices_counterparty_id_counterparties")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("external_id", name=op.f("uq_invoices_external_id")),
        comment="Invoices issued to counterparties, in any currency.",
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoices_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_counterparty_id"), ["counterparty_id"], unique=False)

    op.create_table(
        "leads",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column(
            "external_id", sa.String(length=128), nullable=True, comment="ID in the source system (one-way sync key)."
        ),
        sa.Column("contact_id", sa.BigInteger(), nullable=True, comment="Contact, once identified."),
        sa.Column(
            "channel", sa.String(length=64), nullable=False, comment="Channel: call, web_form, chat, walk_in, ..."
        ),
        sa.Column("campaign_id", sa.BigInteger(), nullable=True, comment="Attributed campaign."),
        sa.Column("utm_source", sa.String(length=128), nullable=True, comment="utm_source."),
        sa.Column("utm_medium", sa.String(length=128), nullable=True, comment="utm_medium."),
        sa.Column("utm_campaign", sa.String(length=128), nullable=True, comment="utm_campaign."),
        sa.Column("utm_content", sa.String(length=128), nullable=True, comment="utm_content."),
        sa.Column("utm_term", sa.String(length=128), nullable=True, comment="utm_term."),
        sa.Column("service_of_interest", sa.String(length=200), nullable=True, comment="Service asked about."),
        sa.Column(
            "status",
            sa.Enum(
                "new",
                "in_progress",
                "qualified",
                "converted",
                "lost",
                name="lead_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
            comment="new, in_progress, ..., lost.",
        ),
        sa.Column("lost_reason", sa.String(length=200), nullable=True, comment="Why it was lost."),
        sa.Column("assigned_operator_id", sa.BigInteger(), nullable=True, comment="Operator handling it."),
        sa.Column(
            "received_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the lead came in.",
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
            ["assigned_operator_id"], ["operators.id"], name=op.f("fk_leads_assigned_operator_id_operators")
        ),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name=op.f("fk_leads_campaign_id_campaigns")),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_leads_contact_id_contacts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
        sa.UniqueConstraint("external_id", name=op.f("uq_leads_external_id")),
        comment="Leads: requests from prospective patients.",
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_leads_assigned_operator_id"), ["assigned_operator_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_leads_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_leads_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_leads_contact_id"), ["contact_id"], unique=False)

    op.create_table(
        "pipeline_stages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("pipeline_id", sa.BigInteger(), nullable=False, comment="Pipeline."),
        sa.Column("code", sa.String(length=64), nullable=False, comment="Stage code, unique in its pipeline."),
        sa.Column("name", sa.String(length=200), nullable=False, comment="Name."),
        sa.Column("position", sa.Integer(), nullable=False, comment="Order within the pipeline (ascending)."),
        sa.Column("is_won", sa.Boolean(), nullable=False, comment="Reaching it wins the deal."),
        sa.Column("is_lost", sa.Boolean(), nullable=False, comment="Reaching it loses the deal."),
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
            ["pipeline_id"], ["pipelines.id"], name=op.f("fk_pipeline_stages_pipeline_id_pipelines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_stages")),
        sa.UniqueConstraint("pipeline_id", "code", name=op.f("uq_pipeline_stages_pipeline_id_code")),
        comment="Ordered stages of a pipeline.",
    )
    with op.batch_alter_table("pipeline_stages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pipeline_stages_change_seq"), ["change_seq"], unique=False)

    op.create_table(
        "product_prices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("product_id", sa.BigInteger(), nullable=False, comment="Product priced."),
        sa.Column("price", sa.Numeric(precision=14, scale=2), nullable=False, comment="Unit price."),
        sa.Column("currency", sa.String(length=3), nullable=False, comment="ISO 4217 currency."),
        sa.Column(
            "valid_from",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=False,
            comment="Start of validity (inclusive).",
        ),
        sa.Column(
            "valid_to",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=True,
            comment="End of validity (exclusive); NULL while current.",
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
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_product_prices_product_id_products")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_prices")),
        sa.UniqueConstraint("product_id", "valid_from", name=op.f("uq_product_prices_product_id_valid_from")),
        comment="Price list: a product's price valid in [valid_from, valid_to).",
    )
    with op.batch_alter_table("product_prices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_prices_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_product_prices_product_id"), ["product_id"], unique=False)

    op.create_table(
        "customers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column(
            "client_id",
            sa.String(length=32),
            nullable=False,
            comment="Public client ID typed at machines and printed on cards.",
        ),
        sa.Column(
            "external_id", sa.String(length=128), nullable=True, comment="ID in an upstream system (one-way sync)."
        ),
        sa.Column("full_name", sa.String(length=200), nullable=False, comment="Full name."),
        sa.Column(
            "role",
            sa.Enum(
                "doctor", "nurse", "other", name="customer_role", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
            comment="doctor, nurse, other.",
        ),
        sa.Column("email", sa.String(length=254), nullable=True, comment="Email."),
        sa.Column("phone", sa.String(length=32), nullable=True, comment="Phone number."),
        sa.Column(
            "locale",
            sa.Enum("en", "ru", name="customer_locale", native_enum=False, create_constraint=True, length=32),
            nullable=False,
            comment="Preferred language.",
        ),
        sa.Column(
            "statement_email_consent", sa.Boolean(), nullable=False, comment="Agreed to receive statements by email."
        ),
        sa.Column("home_hospital_id", sa.BigInteger(), nullable=True, comment="Hospital the customer works at."),
        sa.Column(
            "acquisition_channel",
            sa.Enum(
                "hospital_onboarding",
                "referral",
                "web",
                "ads",
                "phone",
                "other",
                name="acquisition_channel",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
            comment="How they came.",
        ),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "blocked",
                "closed",
                name="customer_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
            comment="active, blocked, closed.",
        ),
        sa.Column(
            "pin_hash",
            sa.String(length=200),
            nullable=False,
            comment="Salted, peppered scrypt hash of the PIN (never the PIN). Not extracted.",
        ),
        sa.Column(
            "failed_pin_count", sa.Integer(), nullable=False, comment="Consecutive bad PINs since the last good one."
        ),
        sa.Column(
            "pin_locked_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=True,
            comment="When 5 bad PINs locked the account; NULL when not locked.",
        ),
        sa.Column(
            "payment_token",
            sa.String(length=128),
            nullable=True,
            comment="Opaque payment processor token for the stored card (never a card number).",
        ),
        sa.Column("card_brand", sa.String(length=32), nullable=True, comment="Card brand reported by processor."),
        sa.Column(
            "registered_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the account opened.",
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
            ["home_hospital_id"], ["hospitals.id"], name=op.f("fk_customers_home_hospital_id_hospitals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("client_id", name=op.f("uq_customers_client_id")),
        sa.UniqueConstraint("external_id", name=op.f("uq_customers_external_id")),
        comment="Customers (doctors, nurses) holding a prepaid account.",
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customers_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_customers_home_hospital_id"), ["home_hospital_id"], unique=False)

    op.create_table(
        "deals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column(
            "external_id", sa.String(length=128), nullable=True, comment="ID in the source system (one-way sync key)."
        ),
        sa.Column("pipeline_id", sa.BigInteger(), nullable=False, comment="Pipeline."),
        sa.Column("stage_id", sa.BigInteger(), nullable=False, comment="Current stage."),
        sa.Column("contact_id", sa.BigInteger(), nullable=True, comment="Contact."),
        sa.Column("lead_id", sa.BigInteger(), nullable=True, comment="Source lead."),
        sa.Column("operator_id", sa.BigInteger(), nullable=True, comment="Responsible operator."),
        sa.Column("title", sa.String(length=300), nullable=False, comment="Title."),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=True, comment="Expected value."),
        sa.Column("currency", sa.String(length=3), nullable=False, comment="ISO 4217 currency."),
        sa.Column(
            "status",
            sa.Enum("open", "won", "lost", name="deal_status", native_enum=False, create_constraint=True, length=32),
            nullable=False,
            comment="open, won, lost.",
        ),
        sa.Column(
            "stage_changed_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=True,
            comment="When it entered its current stage.",
        ),
        sa.Column(
            "closed_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=True,
            comment="When won or lost.",
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
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_deals_contact_id_contacts")),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_deals_lead_id_leads")),
        sa.ForeignKeyConstraint(["operator_id"], ["operators.id"], name=op.f("fk_deals_operator_id_operators")),
        sa.ForeignKeyConstraint(["pipeline_id"], ["pipelines.id"], name=op.f("fk_deals_pipeline_id_pipelines")),
        sa.ForeignKeyConstraint(["stage_id"], ["pipeline_stages.id"], name=op.f("fk_deals_stage_id_pipeline_stages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deals")),
        sa.UniqueConstraint("external_id", name=op.f("uq_deals_external_id")),
        comment="Deals moving through pipeline stages.",
    )
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deals_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_deals_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deals_stage_id"), ["stage_id"], unique=False)

    op.create_table(
        "machines",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("serial", sa.String(length=64), nullable=False, comment="Manufacturer serial number."),
        sa.Column("hospital_id", sa.BigInteger(), nullable=False, comment="Hospital where it stands."),
        sa.Column("location", sa.String(length=300), nullable=True, comment="Where in the hospital (floor, wing)."),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "maintenance",
                "offline",
                "retired",
                name="machine_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
            comment="Operational status.",
        ),
        sa.Column("installed_on", sa.Date(), nullable=True, comment="Installation date."),
        sa.Column(
            "last_seen_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=True,
            comment="Last time the machine talked to the API.",
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
        sa.ForeignKeyConstraint(["hospital_id"], ["hospitals.id"], name=op.f("fk_machines_hospital_id_hospitals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_machines")),
        sa.UniqueConstraint("serial", name=op.f("uq_machines_serial")),
        comment="Vending machines dispensing sterile uniform kits.",
    )
    with op.batch_alter_table("machines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_machines_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_machines_hospital_id"), ["hospital_id"], unique=False)

    op.create_table(
        "payments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column(
            "external_id", sa.String(length=128), nullable=True, comment="ID in the source system (one-way sync key)."
        ),
        sa.Column("invoice_id", sa.BigInteger(), nullable=True, comment="Invoice paid."),
        sa.Column("counterparty_id", sa.BigInteger(), nullable=False, comment="Payer."),
        sa.Column("paid_on", sa.Date(), nullable=False, comment="Value date."),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False, comment="Amount paid."),
        sa.Column("currency", sa.String(length=3), nullable=False, comment="ISO 4217 currency."),
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
            ["counterparty_id"], ["counterparties.id"], name=op.f("fk_payments_counterparty_id_counterparties")
        ),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_payments_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("external_id", name=op.f("uq_payments_external_id")),
        comment="Payments received from counterparties.",
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payments_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_payments_invoice_id"), ["invoice_id"], unique=False)

    op.create_table(
        "report_contacts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("hospital_id", sa.BigInteger(), nullable=False, comment="Hospital of the contact."),
        sa.Column("name", sa.String(length=200), nullable=False, comment="Contact's name."),
        sa.Column("email", sa.String(length=254), nullable=False, comment="Email address reports go to."),
        sa.Column(
            "locale",
            sa.Enum("en", "ru", name="report_locale", native_enum=False, create_constraint=True, length=32),
            nullable=False,
            comment="Report language: en or ru.",
        ),
        sa.Column("role", sa.String(length=120), nullable=True, comment="Role, e.g. chief nurse, finance."),
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
            ["hospital_id"], ["hospitals.id"], name=op.f("fk_report_contacts_hospital_id_hospitals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_contacts")),
        comment="People at a hospital who receive reports (future report subscriptions).",
    )
    with op.batch_alter_table("report_contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_contacts_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_report_contacts_hospital_id"), ["hospital_id"], unique=False)

    op.create_table(
        "alerts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column(
            "kind",
            sa.Enum(
                "pin_lockout",
                "machine_offline",
                "low_stock",
                "other",
                name="alert_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
            comment="What happened.",
        ),
        sa.Column("severity", sa.String(length=16), nullable=False, comment="info, warning, critical."),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "acknowledged",
                "resolved",
                name="alert_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
            comment="open, acknowledged, resolved.",
        ),
        sa.Column("customer_id", sa.BigInteger(), nullable=True, comment="Customer concerned."),
        sa.Column("machine_id", sa.BigInteger(), nullable=True, comment="Machine concerned."),
        sa.Column("message", sa.Text(), nullable=False, comment="What the owner should know (no secrets)."),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
            comment="Structured details.",
        ),
        sa.Column(
            "raised_at", operational_api.models.base.UTCDateTime(timezone=True), nullable=False, comment="When raised."
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
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_alerts_customer_id_customers")),
        sa.ForeignKeyConstraint(["machine_id"], ["machines.id"], name=op.f("fk_alerts_machine_id_machines")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        comment="Alerts for the owner (e.g. a customer locked by bad PINs).",
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "appointments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column(
            "external_id", sa.String(length=128), nullable=True, comment="ID in the source system (one-way sync key)."
        ),
        sa.Column("contact_id", sa.BigInteger(), nullable=False, comment="Patient."),
        sa.Column("deal_id", sa.BigInteger(), nullable=True, comment="Deal."),
        sa.Column("lead_id", sa.BigInteger(), nullable=True, comment="Lead."),
        sa.Column("branch_id", sa.BigInteger(), nullable=False, comment="Branch."),
        sa.Column("doctor_id", sa.BigInteger(), nullable=True, comment="Doctor."),
        sa.Column("service", sa.String(length=200), nullable=True, comment="Service booked."),
        sa.Column(
            "visit_type",
            sa.Enum("primary", "repeat", name="visit_type", native_enum=False, create_constraint=True, length=32),
            nullable=False,
            comment="primary or repeat.",
        ),
        sa.Column(
            "status",
            sa.Enum(
                "booked",
                "confirmed",
                "attended",
                "cancelled",
                "no_show",
                "rescheduled",
                name="appointment_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
            comment="booked, confirmed, attended, cancelled, no_show, rescheduled.",
        ),
        sa.Column(
            "scheduled_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=False,
            comment="Start time.",
        ),
        sa.Column("duration_minutes", sa.Integer(), nullable=True, comment="Planned length."),
        sa.Column("price", sa.Numeric(precision=14, scale=2), nullable=True, comment="Price of the visit."),
        sa.Column("currency", sa.String(length=3), nullable=False, comment="ISO 4217 currency."),
        sa.Column("insurance_policy", sa.Boolean(), nullable=False, comment="Paid under an insurance policy."),
        sa.Column("insurer_id", sa.BigInteger(), nullable=True, comment="Insurer paying, when insured."),
        sa.Column("rescheduled_from_id", sa.BigInteger(), nullable=True, comment="Appointment this one replaces."),
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
        sa.ForeignKeyConstraint(["branch_id"], ["branches.id"], name=op.f("fk_appointments_branch_id_branches")),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_appointments_contact_id_contacts")),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], name=op.f("fk_appointments_deal_id_deals")),
        sa.ForeignKeyConstraint(["doctor_id"], ["doctors.id"], name=op.f("fk_appointments_doctor_id_doctors")),
        sa.ForeignKeyConstraint(
            ["insurer_id"], ["counterparties.id"], name=op.f("fk_appointments_insurer_id_counterparties")
        ),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_appointments_lead_id_leads")),
        sa.ForeignKeyConstraint(
            ["rescheduled_from_id"], ["appointments.id"], name=op.f("fk_appointments_rescheduled_from_id_appointments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
        sa.UniqueConstraint("external_id", name=op.f("uq_appointments_external_id")),
        comment="Appointments (visits) of contacts with doctors.",
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index("ix_appointments_branch_id_scheduled_at", ["branch_id", "scheduled_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_appointments_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_appointments_contact_id"), ["contact_id"], unique=False)

    op.create_table(
        "calls",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column(
            "external_id", sa.String(length=128), nullable=True, comment="ID in the source system (one-way sync key)."
        ),
        sa.Column(
            "direction",
            sa.Enum("inbound", "outbound", name="call_direction", native_enum=False, create_constraint=True, length=32),
            nullable=False,
            comment="inbound or outbound.",
        ),
        sa.Column("operator_id", sa.BigInteger(), nullable=True, comment="Operator."),
        sa.Column("contact_id", sa.BigInteger(), nullable=True, comment="Contact."),
        sa.Column("lead_id", sa.BigInteger(), nullable=True, comment="Lead."),
        sa.Column("deal_id", sa.BigInteger(), nullable=True, comment="Deal."),
        sa.Column("phone", sa.String(length=32), nullable=True, comment="Other party's number."),
        sa.Column(
            "started_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=False,
            comment="Ringing started.",
        ),
        sa.Column(
            "answered_at", operational_api.models.base.UTCDateTime(timezone=True), nullable=True, comment="Answered."
        ),
        sa.Column(
            "ended_at", operational_api.models.base.UTCDateTime(timezone=True), nullable=True, comment="Hung up."
        ),
        sa.Column("duration_seconds", sa.Integer(), nullable=False, comment="Talk time in seconds."),
        sa.Column(
            "outcome",
            sa.Enum(
                "answered",
                "missed",
                "busy",
                "voicemail",
                "failed",
                "booked",
                "callback",
                name="call_outcome",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
            comment="Outcome.",
        ),
        sa.Column("recording_url", sa.String(length=1000), nullable=True, comment="Recording location."),
        sa.Column("is_robot", sa.Boolean(), nullable=False, comment="Handled by a voice robot."),
        sa.Column(
            "script_answers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
            comment="Answers to the call script, as JSON.",
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
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_calls_contact_id_contacts")),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], name=op.f("fk_calls_deal_id_deals")),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_calls_lead_id_leads")),
        sa.ForeignKeyConstraint(["operator_id"], ["operators.id"], name=op.f("fk_calls_operator_id_operators")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
        sa.UniqueConstraint("external_id", name=op.f("uq_calls_external_id")),
        comment="Phone calls handled by operators or robots.",
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calls_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_operator_id"), ["operator_id"], unique=False)
        batch_op.create_index("ix_calls_started_at", ["started_at"], unique=False)

    op.create_table(
        "deal_stage_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("deal_id", sa.BigInteger(), nullable=False, comment="Deal."),
        sa.Column("from_stage_id", sa.BigInteger(), nullable=True, comment="Previous stage; NULL on creation."),
        sa.Column("to_stage_id", sa.BigInteger(), nullable=False, comment="New stage."),
        sa.Column("operator_id", sa.BigInteger(), nullable=True, comment="Who moved it."),
        sa.Column(
            "changed_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=False,
            comment="When it moved.",
        ),
        sa.Column("comment", sa.String(length=500), nullable=True, comment="Why."),
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
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], name=op.f("fk_deal_stage_history_deal_id_deals")),
        sa.ForeignKeyConstraint(
            ["from_stage_id"], ["pipeline_stages.id"], name=op.f("fk_deal_stage_history_from_stage_id_pipeline_stages")
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_deal_stage_history_operator_id_operators")
        ),
        sa.ForeignKeyConstraint(
            ["to_stage_id"], ["pipeline_stages.id"], name=op.f("fk_deal_stage_history_to_stage_id_pipeline_stages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_stage_history")),
        comment="Append-only history of deal stage moves (first row: entry into the pipeline).",
    )
    with op.batch_alter_table("deal_stage_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deal_stage_history_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index("ix_deal_stage_history_deal_id_changed_at", ["deal_id", "changed_at"], unique=False)

    op.create_table(
        "machine_stock",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("machine_id", sa.BigInteger(), nullable=False, comment="Machine."),
        sa.Column("product_id", sa.BigInteger(), nullable=False, comment="Product."),
        sa.Column("quantity", sa.Integer(), nullable=False, comment="Units in stock (never below 0)."),
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
        sa.ForeignKeyConstraint(["machine_id"], ["machines.id"], name=op.f("fk_machine_stock_machine_id_machines")),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_machine_stock_product_id_products")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_machine_stock")),
        sa.UniqueConstraint("machine_id", "product_id", name=op.f("uq_machine_stock_machine_id_product_id")),
        comment="Kits currently loaded in a machine, per product.",
    )
    with op.batch_alter_table("machine_stock", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_machine_stock_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_machine_stock_machine_id"), ["machine_id"], unique=False)

    op.create_table(
        "vend_authorisations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column("machine_id", sa.BigInteger(), nullable=True, comment="Requesting machine."),
        sa.Column("customer_id", sa.BigInteger(), nullable=True, comment="Customer, when the client ID is known."),
        sa.Column("product_id", sa.BigInteger(), nullable=True, comment="Product asked for, when known."),
        sa.Column("quantity", sa.Integer(), nullable=False, comment="Units asked for."),
        sa.Column("price", sa.Numeric(precision=14, scale=2), nullable=True, comment="Unit price quoted."),
        sa.Column(
            "decision",
            sa.Enum("approved", "declined", name="auth_decision", native_enum=False, create_constraint=True, length=32),
            nullable=False,
            comment="approved or declined.",
        ),
        sa.Column(
            "reason",
            sa.Enum(
                "unknown_customer",
                "unknown_product",
                "unknown_machine",
                "bad_pin",
                "pin_locked",
                "blocked",
                "insufficient_funds",
                "out_of_stock",
                "no_price",
                name="decline_reason",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
            comment="Why it was declined; NULL when approved.",
        ),
        sa.Column(
            "requested_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the API decided.",
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
            ["customer_id"], ["customers.id"], name=op.f("fk_vend_authorisations_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["machine_id"], ["machines.id"], name=op.f("fk_vend_authorisations_machine_id_machines")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_vend_authorisations_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vend_authorisations")),
        comment="Every vend authorisation request and its decision (with reason).",
    )
    with op.batch_alter_table("vend_authorisations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vend_authorisations_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_vend_authorisations_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vend_authorisations_machine_id"), ["machine_id"], unique=False)

    op.create_table(
        "vend_transactions",
        sa.Column(
            "id", sa.String(length=64), nullable=False, comment="Client-generated transaction ID (idempotency key)."
        ),
        sa.Column("machine_id", sa.BigInteger(), nullable=False, comment="Machine."),
        sa.Column("customer_id", sa.BigInteger(), nullable=False, comment="Customer."),
        sa.Column("product_id", sa.BigInteger(), nullable=False, comment="Product."),
        sa.Column(
            "authorisation_id",
            sa.BigInteger(),
            nullable=True,
            comment="vend_authorisations.id the machine got, if it was online.",
        ),
        sa.Column("quantity", sa.Integer(), nullable=False, comment="Units dispensed."),
        sa.Column("unit_price", sa.Numeric(precision=14, scale=2), nullable=False, comment="Unit price charged."),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False, comment="quantity * unit_price."),
        sa.Column("currency", sa.String(length=3), nullable=False, comment="ISO 4217 currency."),
        sa.Column(
            "status",
            sa.Enum(
                "completed",
                "failed",
                "refunded",
                name="vend_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
            comment="completed, failed (nothing dispensed), refunded.",
        ),
        sa.Column(
            "device_time",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=False,
            comment="Machine clock at the vend.",
        ),
        sa.Column(
            "received_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the API received it.",
        ),
        sa.Column("offline", sa.Boolean(), nullable=False, comment="Uploaded later from the machine's offline buffer."),
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
        sa.CheckConstraint("quantity > 0", name=op.f("ck_vend_transactions_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_vend_transactions_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["machine_id"], ["machines.id"], name=op.f("fk_vend_transactions_machine_id_machines")),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_vend_transactions_product_id_products")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vend_transactions")),
        comment="Vends reported by machines (live or uploaded later from an offline buffer).",
    )
    with op.batch_alter_table("vend_transactions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vend_transactions_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(
            "ix_vend_transactions_machine_id_device_time", ["machine_id", "device_time"], unique=False
        )

    op.create_table(
        "account_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column(
            "entry_id",
            sa.String(length=64),
            nullable=True,
            comment="Client-generated ID of a top-up/refund/adjustment (idempotency).",
        ),
        sa.Column("customer_id", sa.BigInteger(), nullable=False, comment="Account."),
        sa.Column(
            "kind",
            sa.Enum(
                "topup",
                "vend",
                "refund",
                "adjustment",
                name="entry_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
            comment="topup, vend, refund, adjustment.",
        ),
        sa.Column(
            "source",
            sa.Enum(
                "web_portal",
                "phone_operator",
                "payroll",
                "machine",
                "admin",
                name="entry_source",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
            comment="web_portal, phone_operator (charges the stored token), payroll, machine, admin.",
        ),
        sa.Column(
            "amount", sa.Numeric(precision=14, scale=2), nullable=False, comment="Signed amount: credit > 0, debit < 0."
        ),
        sa.Column("currency", sa.String(length=3), nullable=False, comment="ISO 4217 currency."),
        sa.Column(
            "occurred_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=False,
            comment="When it happened (UTC).",
        ),
        sa.Column(
            "vend_transaction_id", sa.String(length=64), nullable=True, comment="Vend this debit or refund is for."
        ),
        sa.Column("hospital_id", sa.BigInteger(), nullable=True, comment="Paying hospital for payroll top-ups."),
        sa.Column("operator_id", sa.BigInteger(), nullable=True, comment="Operator who charged the card by phone."),
        sa.Column(
            "processor_ref", sa.String(length=128), nullable=True, comment="Payment processor's charge reference."
        ),
        sa.Column("note", sa.String(length=500), nullable=True, comment="Free text (adjustments)."),
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
            ["customer_id"], ["customers.id"], name=op.f("fk_account_entries_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["hospital_id"], ["hospitals.id"], name=op.f("fk_account_entries_hospital_id_hospitals")
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_account_entries_operator_id_operators")
        ),
        sa.ForeignKeyConstraint(
            ["vend_transaction_id"],
            ["vend_transactions.id"],
            name=op.f("fk_account_entries_vend_transaction_id_vend_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_entries")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_account_entries_entry_id")),
        comment="Ledger of customer accounts; balance = sum(amount). Append-only.",
    )
    with op.batch_alter_table("account_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_entries_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(
            "ix_account_entries_customer_id_occurred_at", ["customer_id", "occurred_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_account_entries_vend_transaction_id"), ["vend_transaction_id"], unique=False
        )

    op.create_table(
        "messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, comment="Surrogate key."),
        sa.Column(
            "external_id", sa.String(length=128), nullable=True, comment="ID in the source system (one-way sync key)."
        ),
        sa.Column("contact_id", sa.BigInteger(), nullable=False, comment="Recipient."),
        sa.Column("appointment_id", sa.BigInteger(), nullable=True, comment="Appointment reminded of."),
        sa.Column(
            "channel",
            sa.Enum(
                "sms",
                "whatsapp",
                "telegram",
                "email",
                "voice",
                "push",
                name="message_channel",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
            comment="Channel.",
        ),
        sa.Column("template", sa.String(length=128), nullable=False, comment="Template code."),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "sent",
                "delivered",
                "read",
                "confirmed",
                "failed",
                name="message_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
            comment="Delivery status.",
        ),
        sa.Column("sent_at", operational_api.models.base.UTCDateTime(timezone=True), nullable=True, comment="Sent."),
        sa.Column(
            "delivered_at", operational_api.models.base.UTCDateTime(timezone=True), nullable=True, comment="Delivered."
        ),
        sa.Column("read_at", operational_api.models.base.UTCDateTime(timezone=True), nullable=True, comment="Read."),
        sa.Column(
            "confirmed_at",
            operational_api.models.base.UTCDateTime(timezone=True),
            nullable=True,
            comment="Recipient confirmed (e.g. the appointment).",
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
            ["appointment_id"], ["appointments.id"], name=op.f("fk_messages_appointment_id_appointments")
        ),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_messages_contact_id_contacts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("external_id", name=op.f("uq_messages_external_id")),
        comment="Messages and reminders sent to contacts.",
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_messages_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_contact_id"), ["contact_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_contact_id"))
        batch_op.drop_index(batch_op.f("ix_messages_change_seq"))

    op.drop_table("messages")
    with op.batch_alter_table("account_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_entries_vend_transaction_id"))
        batch_op.drop_index("ix_account_entries_customer_id_occurred_at")
        batch_op.drop_index(batch_op.f("ix_account_entries_change_seq"))

    op.drop_table("account_entries")
    with op.batch_alter_table("vend_transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_vend_transactions_machine_id_device_time")
        batch_op.drop_index(batch_op.f("ix_vend_transactions_change_seq"))

    op.drop_table("vend_transactions")
    with op.batch_alter_table("vend_authorisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vend_authorisations_machine_id"))
        batch_op.drop_index(batch_op.f("ix_vend_authorisations_customer_id"))
        batch_op.drop_index(batch_op.f("ix_vend_authorisations_change_seq"))

    op.drop_table("vend_authorisations")
    with op.batch_alter_table("machine_stock", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_machine_stock_machine_id"))
        batch_op.drop_index(batch_op.f("ix_machine_stock_change_seq"))

    op.drop_table("machine_stock")
    with op.batch_alter_table("deal_stage_history", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_stage_history_deal_id_changed_at")
        batch_op.drop_index(batch_op.f("ix_deal_stage_history_change_seq"))

    op.drop_table("deal_stage_history")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_started_at")
        batch_op.drop_index(batch_op.f("ix_calls_operator_id"))
        batch_op.drop_index(batch_op.f("ix_calls_contact_id"))
        batch_op.drop_index(batch_op.f("ix_calls_change_seq"))

    op.drop_table("calls")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointments_contact_id"))
        batch_op.drop_index(batch_op.f("ix_appointments_change_seq"))
        batch_op.drop_index("ix_appointments_branch_id_scheduled_at")

    op.drop_table("appointments")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_customer_id"))
        batch_op.drop_index(batch_op.f("ix_alerts_change_seq"))

    op.drop_table("alerts")
    with op.batch_alter_table("report_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_contacts_hospital_id"))
        batch_op.drop_index(batch_op.f("ix_report_contacts_change_seq"))

    op.drop_table("report_contacts")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_payments_change_seq"))

    op.drop_table("payments")
    with op.batch_alter_table("machines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_machines_hospital_id"))
        batch_op.drop_index(batch_op.f("ix_machines_change_seq"))

    op.drop_table("machines")
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deals_stage_id"))
        batch_op.drop_index(batch_op.f("ix_deals_contact_id"))
        batch_op.drop_index(batch_op.f("ix_deals_change_seq"))

    op.drop_table("deals")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_home_hospital_id"))
        batch_op.drop_index(batch_op.f("ix_customers_change_seq"))

    op.drop_table("customers")
    with op.batch_alter_table("product_prices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_prices_product_id"))
        batch_op.drop_index(batch_op.f("ix_product_prices_change_seq"))

    op.drop_table("product_prices")
    with op.batch_alter_table("pipeline_stages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pipeline_stages_change_seq"))

    op.drop_table("pipeline_stages")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leads_contact_id"))
        batch_op.drop_index(batch_op.f("ix_leads_change_seq"))
        batch_op.drop_index(batch_op.f("ix_leads_campaign_id"))
        batch_op.drop_index(batch_op.f("ix_leads_assigned_operator_id"))

    op.drop_table("leads")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoices_counterparty_id"))
        batch_op.drop_index(batch_op.f("ix_invoices_change_seq"))

    op.drop_table("invoices")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_change_seq"))

    op.drop_table("idempotency_keys")
    with op.batch_alter_table("hospitals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hospitals_commission_plan_id"))
        batch_op.drop_index(batch_op.f("ix_hospitals_change_seq"))

    op.drop_table("hospitals")
    with op.batch_alter_table("doctors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_doctors_change_seq"))
        batch_op.drop_index(batch_op.f("ix_doctors_branch_id"))

    op.drop_table("doctors")
    with op.batch_alter_table("commission_tiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commission_tiers_plan_id"))
        batch_op.drop_index(batch_op.f("ix_commission_tiers_change_seq"))

    op.drop_table("commission_tiers")
    with op.batch_alter_table("ad_spend", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ad_spend_change_seq"))

    op.drop_table("ad_spend")
    op.drop_table("pulse_change_seq")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_change_seq"))

    op.drop_table("products")
    with op.batch_alter_table("pipelines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pipelines_change_seq"))

    op.drop_table("pipelines")
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operators_change_seq"))

    op.drop_table("operators")
    with op.batch_alter_table("fx_rates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fx_rates_change_seq"))

    op.drop_table("fx_rates")
    with op.batch_alter_table("counterparties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_counterparties_change_seq"))

    op.drop_table("counterparties")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_phone"))
        batch_op.drop_index(batch_op.f("ix_contacts_change_seq"))

    op.drop_table("contacts")
    with op.batch_alter_table("commission_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commission_plans_change_seq"))

    op.drop_table("commission_plans")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaigns_utm_campaign"))
        batch_op.drop_index(batch_op.f("ix_campaigns_change_seq"))

    op.drop_table("campaigns")
    with op.batch_alter_table("branches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_branches_change_seq"))

    op.drop_table("branches")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_change_seq"))

    op.drop_table("api_keys")
