"""Alembic environment for the operational store. Run through `pulse api migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from operational_api.db import make_engine
from operational_api.models import Base

config = context.config
target_metadata = Base.metadata


def _sqlite_pragma(connection: Connection, pragma: str) -> None:
    """A PRAGMA on the raw connection, outside any transaction (inside one, `foreign_keys` is silently ignored)."""
    connection.connection.driver_connection.execute(pragma)  # type: ignore[union-attr]


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch mode changes a SQLite table by copying it, dropping it and renaming the copy back (Alembic's
        # recipe). With foreign keys enforced, dropping a table other rows point to (customers, pipeline_stages)
        # fails; the copy keeps every id, so the references hold again once it has the table's name.
        _sqlite_pragma(connection, "PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            connection.commit()  # the pragma below is ignored inside a transaction
    except BaseException:
        if sqlite:
            connection.rollback()
        raise
    finally:
        if sqlite:
            _sqlite_pragma(connection, "PRAGMA foreign_keys=ON")


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "", write=False, pool_size=1)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
