"""customer accounts get a currency; pipeline stages say which funnel step they are; prices are per currency

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10 10:00:00

- `customers.currency` (NOT NULL): the account's currency. Existing accounts take the currency most of their live
  entries are in, else the one most product prices are in, else RUB (every default before this revision was RUB).
- `pipeline_stages.funnel_step` (NOT NULL, one of FUNNEL_STEPS): is_won -> paid, is_lost -> lost, the stage codes
  the funnel model used to hard-code (contacted, booked, attended) -> themselves, anything else -> lead.
- `product_prices` is unique per (product, currency, valid_from), so a product can be priced in several currencies
  from the same moment.

The backfills set values without bumping change_seq: extract-load reloads a table whose raw copy lacks a column
(`extractors.load`), so the warehouse gets every row's new value anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

# Frozen here (not imported from the models) so that this revision means the same thing when the models move on.
FUNNEL_STEPS = ("lead", "contacted", "booked", "attended", "paid", "lost")
CURRENCY_COMMENT = "ISO 4217 currency of the account: its top-ups, vends, refunds and balance are all in it."
FUNNEL_COMMENT = "Funnel step the stage stands for: lead, contacted, booked, attended, paid (is_won), lost (is_lost)."

# Portable SQL (SQLite and PostgreSQL): correlated scalar subqueries, ties broken by the currency code so that the
# result does not depend on the scan order.
BACKFILL_CUSTOMERS = """
UPDATE customers SET currency = COALESCE(
    (SELECT e.currency FROM account_entries e
     WHERE e.customer_id = customers.id AND e.deleted_at IS NULL
     GROUP BY e.currency ORDER BY COUNT(*) DESC, e.currency LIMIT 1),
    (SELECT p.currency FROM product_prices p
     WHERE p.deleted_at IS NULL
     GROUP BY p.currency ORDER BY COUNT(*) DESC, p.currency LIMIT 1),
    'RUB')
"""
MIXED_ACCOUNTS = """
SELECT COUNT(*) FROM (
    SELECT customer_id FROM account_entries WHERE deleted_at IS NULL
    GROUP BY customer_id HAVING COUNT(DISTINCT currency) > 1
) AS mixed
"""


def _funnel_step_backfill() -> sa.Update:
    stages = sa.table(
        "pipeline_stages",
        sa.column("code", sa.String),
        sa.column("is_won", sa.Boolean),
        sa.column("is_lost", sa.Boolean),
        sa.column("funnel_step", sa.String),
    )
    step = sa.case(
        (stages.c.is_won, "paid"),
        (stages.c.is_lost, "lost"),
        (stages.c.code.in_(("contacted", "booked", "attended")), stages.c.code),
        else_="lead",
    )
    return stages.update().values(funnel_step=step)


def upgrade() -> None:
    # Add nullable, fill, then NOT NULL: SQLite cannot add a NOT NULL column without a default, and a default
    # would quietly stay behind for writers that forget the currency. The NOT NULL step rebuilds the table on
    # SQLite (batch mode); env.py turns foreign key enforcement off around it.
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("currency", sa.String(length=3), nullable=True, comment=CURRENCY_COMMENT))
    op.execute(BACKFILL_CUSTOMERS)
    with op.batch_alter_table("customers") as batch:
        batch.alter_column("currency", existing_type=sa.String(length=3), nullable=False)
    mixed: int = op.get_bind().execute(sa.text(MIXED_ACCOUNTS)).scalar_one()
    if mixed:
        log.warning(
            "%d customer accounts hold entries in more than one currency: each account now has the currency most "
            "of its entries are in, and its balance counts only entries in that currency; review them",
            mixed,
        )

    with op.batch_alter_table("pipeline_stages") as batch:
        batch.add_column(sa.Column("funnel_step", sa.String(length=32), nullable=True, comment=FUNNEL_COMMENT))
    op.execute(_funnel_step_backfill())
    with op.batch_alter_table("pipeline_stages") as batch:
        batch.alter_column("funnel_step", existing_type=sa.String(length=32), nullable=False)
        # The CHECK an enum() column carries (models.vending.enum), under the name the naming convention gives it.
        batch.create_check_constraint("funnel_step", sa.column("funnel_step").in_(FUNNEL_STEPS))

    with op.batch_alter_table("product_prices") as batch:
        batch.drop_constraint(op.f("uq_product_prices_product_id_valid_from"), type_="unique")
        batch.create_unique_constraint(
            op.f("uq_product_prices_product_id_currency_valid_from"), ["product_id", "currency", "valid_from"]
        )


def downgrade() -> None:
    # Fails if a product has prices in two currencies from the same moment: decide which one stays first.
    with op.batch_alter_table("product_prices") as batch:
        batch.drop_constraint(op.f("uq_product_prices_product_id_currency_valid_from"), type_="unique")
        batch.create_unique_constraint(op.f("uq_product_prices_product_id_valid_from"), ["product_id", "valid_from"])
    with op.batch_alter_table("pipeline_stages") as batch:
        batch.drop_constraint(op.f("ck_pipeline_stages_funnel_step"), type_="check")
        batch.drop_column("funnel_step")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("currency")
