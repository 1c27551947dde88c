"""Migrations on a store that already holds data (SQLite and PostgreSQL): revision 0005 backfills account
currencies and funnel steps, keeps every reference intact and leaves the schema the models describe."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from operational_api.migrate import alembic_config, upgrade
from tests.pg import PostgresServer

NOW = "2026-01-01 00:00:00"
STAGES = [  # code, is_won, is_lost -> the funnel step 0005 gives it
    ("new", False, False, "lead"),
    ("contacted", False, False, "contacted"),
    ("zapis", False, False, "lead"),  # a code of the CRM's own: the backfill cannot know it, the API asks for it
    ("booked", False, False, "booked"),
    ("attended", False, False, "attended"),
    ("won", True, False, "paid"),
    ("booked_and_lost", False, True, "lost"),
]


@pytest.fixture
def empty_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all (not the migrated template the other tests copy)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'legacy.db'}"
        return
    server: PostgresServer = request.getfixturevalue("pg_server")
    yield server.create_database(f"m_{uuid.uuid4().hex[:12]}")


def _legacy_store(connection: sa.Connection) -> None:
    """Rows as revision 0004 held them: customers without a currency, stages without a funnel step."""

    def sql(statement: str, **params: object) -> None:
        connection.execute(sa.text(statement), {"now": NOW, **params})

    tracked = ":now, :now, 1"  # created_at, updated_at, change_seq
    sql(f"INSERT INTO hospitals (id, code, name, city, region, time_zone, created_at, updated_at, change_seq) "
        f"VALUES (1, 'H1', 'H1', 'c', 'r', 'UTC', {tracked})")  # fmt: skip
    for customer_id in (1, 2, 3):
        sql(f"INSERT INTO customers (id, client_id, full_name, role, locale, statement_email_consent, "
            f"acquisition_channel, status, pin_hash, failed_pin_count, registered_at, created_at, updated_at, "
            f"change_seq) VALUES (:id, :client_id, 'x', 'doctor', 'ru', false, 'other', 'active', 'h', 0, :now, {tracked})",
            id=customer_id, client_id=f"C{customer_id}")  # fmt: skip
    # Customer 1 mostly in USD (one stray EUR entry, one tombstoned KZT pair); 2 has no entries; 3 only in EUR.
    entries = [(1, "USD", None), (1, "USD", None), (1, "EUR", None), (1, "KZT", NOW), (1, "KZT", NOW), (3, "EUR", None)]
    for customer_id, currency, deleted_at in entries:
        sql(f"INSERT INTO account_entries (customer_id, kind, source, amount, currency, occurred_at, deleted_at, "
            f"created_at, updated_at, change_seq) VALUES (:customer_id, 'topup', 'web_portal', 10, :currency, :now, "
            f":deleted_at, {tracked})", customer_id=customer_id, currency=currency, deleted_at=deleted_at)  # fmt: skip
    sql(f"INSERT INTO products (id, sku, name, kit_type, size, active, created_at, updated_at, change_seq) "
        f"VALUES (1, 'KIT', 'KIT', 'scrubs', 'M', true, {tracked})")  # fmt: skip
    for price_id, currency in ((1, "CNY"), (2, "CNY"), (3, "RUB")):
        sql(f"INSERT INTO product_prices (id, product_id, price, currency, valid_from, created_at, updated_at, "
            f"change_seq) VALUES (:id, 1, 5, :currency, :valid_from, {tracked})",
            id=price_id, currency=currency, valid_from=f"202{price_id}-01-01 00:00:00")  # fmt: skip
    sql(f"INSERT INTO pipelines (id, code, name, created_at, updated_at, change_seq) VALUES (1, 'p', 'p', {tracked})")
    for stage_id, (code, won, lost, _) in enumerate(STAGES, 1):
        sql(f"INSERT INTO pipeline_stages (id, pipeline_id, code, name, position, is_won, is_lost, created_at, "
            f"updated_at, change_seq) VALUES (:id, 1, :code, :code, :id, :won, :lost, {tracked})",
            id=stage_id, code=code, won=won, lost=lost)  # fmt: skip
    sql(f"INSERT INTO deals (id, pipeline_id, stage_id, title, currency, status, created_at, updated_at, change_seq) "
        f"VALUES (1, 1, 3, 'deal', 'RUB', 'open', {tracked})")  # fmt: skip


def test_0005_backfills_account_currencies_and_funnel_steps(empty_url: str, caplog: pytest.LogCaptureFixture) -> None:
    upgrade(empty_url, "0004")
    engine = sa.create_engine(empty_url)
    try:
        with engine.begin() as connection:
            _legacy_store(connection)
        with caplog.at_level(logging.WARNING):
            upgrade(empty_url)
        assert "1 customer accounts hold entries in more than one currency" in caplog.text  # customer 1: USD, EUR
        command.check(alembic_config(empty_url))  # the migrated schema is the models'
        with engine.connect() as connection:
            currencies = connection.execute(sa.text("SELECT id, currency FROM customers ORDER BY id")).all()
            steps = connection.execute(sa.text("SELECT code, funnel_step FROM pipeline_stages ORDER BY id")).all()
            deal_stage = connection.execute(sa.text("SELECT stage_id FROM deals")).scalar_one()
            if engine.dialect.name == "sqlite":
                assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        # Most of its live entries; else what most prices are in; tombstoned entries do not vote.
        assert [tuple(row) for row in currencies] == [(1, "USD"), (2, "CNY"), (3, "EUR")]
        assert [tuple(row) for row in steps] == [(code, step) for code, _, _, step in STAGES]
        assert deal_stage == 3  # the rebuilt tables kept their ids, so references still hold
    finally:
        engine.dispose()


def test_0005_without_prices_or_entries_falls_back_to_rub(empty_url: str) -> None:
    upgrade(empty_url, "0004")
    engine = sa.create_engine(empty_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO customers (id, client_id, full_name, role, locale, statement_email_consent, "
                    "acquisition_channel, status, pin_hash, failed_pin_count, registered_at, created_at, updated_at, "
                    "change_seq) VALUES (1, 'C1', 'x', 'doctor', 'ru', false, 'other', 'active', 'h', 0, :now, :now, "
                    ":now, 1)"
                ),
                {"now": NOW},
            )
        upgrade(empty_url)
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT currency FROM customers")).scalar_one() == "RUB"
        command.downgrade(alembic_config(empty_url), "0004")  # and back: the revision is reversible
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT COUNT(*) FROM customers")).scalar_one() == 1
    finally:
        engine.dispose()


def test_0006_gives_messages_their_purpose_and_invoices_their_direction(empty_url: str) -> None:
    upgrade(empty_url, "0005")
    engine = sa.create_engine(empty_url)
    tracked = ":now, :now, 1"  # created_at, updated_at, change_seq
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f"INSERT INTO contacts (id, full_name, marketing_consent, created_at, updated_at, "
                                       f"change_seq) VALUES (1, 'x', false, {tracked})"), {"now": NOW})  # fmt: skip
            for message_id, template in enumerate(("appointment_reminder", "nps_survey", "birthday", "promo_march"), 1):
                connection.execute(
                    sa.text(f"INSERT INTO messages (id, contact_id, channel, template, status, created_at, updated_at, "
                            f"change_seq) VALUES (:id, 1, 'sms', :template, 'sent', {tracked})"),
                    {"id": message_id, "template": template, "now": NOW},
                )  # fmt: skip
            connection.execute(sa.text(f"INSERT INTO counterparties (id, name, kind, currency, created_at, updated_at, "
                                       f"change_seq) VALUES (1, 'Ins', 'insurer', 'RUB', {tracked})"), {"now": NOW})  # fmt: skip
            connection.execute(
                sa.text(f"INSERT INTO invoices (id, number, counterparty_id, issued_on, amount, currency, status, "
                        f"created_at, updated_at, change_seq) VALUES (1, 'I1', 1, '2026-01-01', 10, 'RUB', 'issued', "
                        f"{tracked})"),
                {"now": NOW},
            )  # fmt: skip
        upgrade(empty_url)
        command.check(alembic_config(empty_url))  # the migrated schema is the models'
        with engine.connect() as connection:
            purposes = connection.execute(sa.text("SELECT template, purpose FROM messages ORDER BY id")).all()
            direction = connection.execute(sa.text("SELECT direction FROM invoices")).scalar_one()
        assert [tuple(r) for r in purposes] == [("appointment_reminder", "day_before_reminder"),
                                                ("nps_survey", "nps_survey"), ("birthday", "birthday"),
                                                ("promo_march", "other")]  # fmt: skip
        assert direction == "receivable"
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:  # the CHECKs hold on both backends
            connection.execute(sa.text("UPDATE messages SET nps_score = 11 WHERE id = 2"))
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
            connection.execute(sa.text("UPDATE invoices SET direction = 'sideways'"))
        command.downgrade(alembic_config(empty_url), "0005")  # and back: the revision is reversible
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT COUNT(*) FROM messages")).scalar_one() == 4
    finally:
        engine.dispose()


def test_0007_keeps_subscriptions_and_admits_sales_rep_statements(empty_url: str) -> None:
    upgrade(empty_url, "0006")
    engine = sa.create_engine(empty_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text("INSERT INTO report_subscriptions (id, name, report_kind, cron, time_zone, format, enabled, "
                        "recipient_query, created_at, updated_at, change_seq) VALUES (1, 'old', 'hospital_statement', "
                        "'0 7 1 * *', 'UTC', 'pdf', true, 'SELECT 1', :now, :now, 1)"),
                {"now": NOW},
            )  # fmt: skip
        upgrade(empty_url)
        command.check(alembic_config(empty_url))  # the migrated schema is the models'
        with engine.begin() as connection:
            old = connection.execute(sa.text("SELECT attachments, audience FROM report_subscriptions")).one()
            assert (json.loads(old[0]) if isinstance(old[0], str) else old[0], old[1]) == ([], None)
            connection.execute(
                sa.text("INSERT INTO report_subscriptions (id, name, report_kind, cron, time_zone, format, enabled, "
                        "recipient_query, attachments, created_at, updated_at, change_seq) VALUES (2, 'reps', "
                        "'sales_rep_statement', '0 7 2 * *', 'UTC', 'pdf', true, 'SELECT 1', '[]', :now, :now, 2)"),
                {"now": NOW},
            )  # fmt: skip
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:  # the role CHECK holds
            connection.execute(
                sa.text("INSERT INTO portal_users (email, name, role, locale, password_hash, created_at, updated_at, "
                        "change_seq) VALUES ('a@b.c', 'A', 'superuser', 'en', 'x', :now, :now, 3)"),
                {"now": NOW},
            )  # fmt: skip
        # back: the report kind 0006 does not know goes with its subscription, the rest stays
        command.downgrade(alembic_config(empty_url), "0006")
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT name FROM report_subscriptions")).scalars().all() == ["old"]
    finally:
        engine.dispose()


def test_0008_keeps_the_alert_log_and_allows_one_unresolved_alert_per_rule_and_subject(empty_url: str) -> None:
    upgrade(empty_url, "0007")
    engine = sa.create_engine(empty_url)
    tracked = ":now, :now"
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text("INSERT INTO alerts (id, kind, severity, status, message, raised_at, created_at, updated_at, "
                        f"change_seq) VALUES (1, 'pin_lockout', 'warning', 'resolved', 'old', :now, {tracked}, 1)"),
                {"now": NOW},
            )  # fmt: skip
        upgrade(empty_url)
        command.check(alembic_config(empty_url))  # the migrated schema is the models'
        with engine.begin() as connection:
            assert connection.execute(sa.text("SELECT occurrences, rule_id FROM alerts")).one() == (1, None)
            connection.execute(
                sa.text("INSERT INTO alert_rules (id, name, kind, severity, enabled, params, emails, webhooks, "
                        f"cooldown_minutes, remind_minutes, created_at, updated_at, change_seq) VALUES (1, 'r', "
                        f"'bad_credentials', 'critical', true, '{{}}', '[]', '[]', 60, 60, {tracked}, 2)"),
                {"now": NOW},
            )  # fmt: skip

        def alert(alert_id: int, status: str) -> None:
            with engine.begin() as connection:
                connection.execute(
                    sa.text("INSERT INTO alerts (id, kind, severity, status, message, raised_at, rule_id, subject, "
                            f"occurrences, created_at, updated_at, change_seq) VALUES (:id, 'bad_credentials', "
                            f"'critical', :status, 'm', :now, 1, 'machine:1', 1, {tracked}, :id + 10)"),
                    {"now": NOW, "id": alert_id, "status": status},
                )  # fmt: skip

        alert(2, "resolved")
        alert(3, "open")  # resolved ones do not count: one unresolved per rule and subject
        with pytest.raises(sa.exc.IntegrityError):
            alert(4, "acknowledged")
        # back: a kind 0007 does not know becomes `other`, the log stays
        command.downgrade(alembic_config(empty_url), "0007")
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT id, kind FROM alerts ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(1, "pin_lockout"), (2, "other"), (3, "other")]
    finally:
        engine.dispose()
