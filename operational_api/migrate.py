"""Schema migrations (Alembic, scripts in operational_api/migrations) and the startup check."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from operational_api.db import redacted

MIGRATIONS = Path(__file__).parent / "migrations"


class NotMigrated(RuntimeError):
    """The database is missing tables or behind the code's schema."""


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def check_migrated(engine: Engine) -> None:
    """Refuse to run on a database that is not at the code's schema revision."""
    current = current_revision(engine)
    head = head_revision()
    if current != head:
        where = redacted(engine.url.render_as_string(hide_password=False))
        state = "has no schema" if current is None else f"is at revision {current}, the code needs {head}"
        raise NotMigrated(f"the operational database {where} {state}: run `pulse api migrate` first")
