"""hospital-scoped API keys: a key may name the one hospital it sees

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 12:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite adds a foreign key only by rebuilding the table.
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(
            sa.Column(
                "hospital_id", sa.BigInteger(), nullable=True, comment="For a hospital key: the one hospital it sees."
            )
        )
        batch.create_foreign_key("fk_api_keys_hospital_id_hospitals", "hospitals", ["hospital_id"], ["id"])
        batch.alter_column(
            "scope",
            existing_type=sa.String(length=32),
            existing_nullable=False,
            comment="machine, portal, operator, integration, hospital, admin.",
            existing_comment="machine, portal, operator, integration, admin.",
        )


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column(
            "scope",
            existing_type=sa.String(length=32),
            existing_nullable=False,
            comment="machine, portal, operator, integration, admin.",
            existing_comment="machine, portal, operator, integration, hospital, admin.",
        )
        batch.drop_constraint("fk_api_keys_hospital_id_hospitals", type_="foreignkey")
        batch.drop_column("hospital_id")
