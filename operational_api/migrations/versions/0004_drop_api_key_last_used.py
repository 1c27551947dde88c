"""api_keys.last_used_at goes: nothing ever wrote it, and writing it on every request would cost a write per call

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from operational_api.models.base import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:  # SQLite drops a column by rebuilding the table
        batch.drop_column("last_used_at")


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(
            sa.Column("last_used_at", UTCDateTime(timezone=True), nullable=True, comment="Unused; reserved.")
        )
