"""`pulse api ...`: serve the operational API, migrate its database, create API keys."""

from __future__ import annotations

from typing import Annotated

import typer

from pulse.core.console import PulseError, console
from pulse.core.settings import get_settings

app = typer.Typer(help="The operational API and store (vending + CRM).", no_args_is_help=True)


@app.command("migrate")
def migrate() -> None:
    """Create or upgrade the operational database schema (alembic upgrade head)."""
    from operational_api.db import database_url, redacted
    from operational_api.migrate import head_revision, upgrade

    url = database_url()
    upgrade(url)
    console.print(f"[green]migrated[/green] {redacted(url)} to revision {head_revision()}")


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Default: PULSE_API_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: PULSE_API_PORT.")] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
) -> None:
    """Serve the API alone with uvicorn (`pulse portal serve` adds the report portal; `pulse up` runs that)."""
    run_server("operational_api.asgi:app", host=host, port=port, workers=workers)


def run_server(app: str, *, host: str | None, port: int | None, workers: int) -> None:
    """Serve the ASGI `app` with uvicorn on the API's address; refuses to start on an unmigrated database."""
    import uvicorn

    from operational_api.db import Store
    from operational_api.migrate import NotMigrated, check_migrated

    settings = get_settings()
    store = Store(settings=settings)
    try:
        check_migrated(store.write_engine)
    except NotMigrated as err:
        raise PulseError(str(err), hint="pulse api migrate") from None
    finally:
        store.dispose()
    uvicorn.run(app, host=host or settings.api_host, port=port or settings.api_port, workers=workers,
                log_level="info")  # fmt: skip


@app.command("create-key")
def create_key(
    scope: Annotated[str, typer.Option(help="machine, portal, operator, integration, hospital or admin.")],
    name: Annotated[str, typer.Option(help="Who or what will use the key.")],
    hospital_id: Annotated[int | None, typer.Option(help="For a hospital key: the hospital it sees.")] = None,
) -> None:
    """Create an API key and print it once (only its SHA-256 is stored)."""
    from operational_api.db import Store
    from operational_api.migrate import NotMigrated, check_migrated
    from operational_api.services.common import ServiceError
    from operational_api.services.keys import create_api_key

    store = Store()
    try:
        check_migrated(store.write_engine)
        with store.write() as session:
            token = create_api_key(session, name=name, scope=scope, hospital_id=hospital_id)
    except NotMigrated as err:
        raise PulseError(str(err), hint="pulse api migrate") from None
    except ServiceError as err:
        raise PulseError(err.message, hint="; ".join(reason for _, reason in err.fields)) from None
    finally:
        store.dispose()
    console.print(f"[green]created[/green] {scope} key for {name!r}; it is shown only now:")
    typer.echo(token)


@app.command("list-keys")
def list_keys() -> None:
    """List API keys (name, scope, prefix, created, revoked); keys themselves are never stored."""
    from rich.table import Table

    from operational_api.db import Store
    from operational_api.services.keys import list_api_keys

    store = Store()
    try:
        with store.read() as session:
            keys = list_api_keys(session)
    finally:
        store.dispose()
    table = Table("prefix", "scope", "hospital", "name", "created", "revoked")
    for key in keys:
        table.add_row(key.prefix, key.scope, str(key.hospital_id or ""), key.name, f"{key.created_at:%Y-%m-%d %H:%M}",
                      "" if key.revoked_at is None else f"{key.revoked_at:%Y-%m-%d %H:%M}")  # fmt: skip
    console.print(table)


@app.command("revoke-key")
def revoke_key(prefix: Annotated[str, typer.Argument(help="The key's prefix, e.g. pk_1a2b3c4d.")]) -> None:
    """Revoke an API key (running servers stop accepting it within 10 seconds)."""
    from operational_api.db import Store
    from operational_api.services.common import ServiceError
    from operational_api.services.keys import revoke_api_key

    store = Store()
    try:
        with store.write() as session:
            revoke_api_key(session, prefix)
    except ServiceError as err:
        raise PulseError(err.message, hint="pulse api list-keys") from None
    finally:
        store.dispose()
    console.print(f"[green]revoked[/green] {prefix}")
