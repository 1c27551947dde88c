"""`pulse superset ...`: Superset on Pulse's settings, with its dashboards, roles and users as code."""

from __future__ import annotations

import subprocess

import typer
from rich.table import Table

from pulse.core.console import console
from pulse.core.settings import get_settings
from pulse.superset import runtime as superset_runtime
from pulse.superset.assets import ASSETS_DIR, export_assets, import_assets
from pulse.superset.security import demo_password_path

app = typer.Typer(help="Superset: init, import/export dashboards as code, serve.", no_args_is_help=True)


@app.command()
def init() -> None:
    """Migrate Superset's metadata database, create its roles and the administrator (idempotent)."""
    settings = get_settings()
    with console.status("migrating Superset's metadata database and creating the administrator..."):
        superset_runtime.init(settings)
    console.print(
        f"[green]✓[/green] Superset ready: administrator {settings.superset_admin_user!r}, "
        f"metadata at {superset_runtime.metadata_url(settings).split('@')[-1]}"
    )


@app.command("import")
def import_() -> None:
    """Import superset_assets/ into the running Superset (creates or updates), then roles, RLS and demo users."""
    settings = get_settings()
    with superset_runtime.connect(settings) as client, console.status("importing dashboards, roles and users..."):
        summary = import_assets(client, settings)
    objects = ", ".join(f"{n} {kind}" for kind, n in summary.objects.items())
    console.print(f"[green]✓[/green] imported {objects}")
    console.print(
        f"[green]✓[/green] {summary.security.roles} roles, {summary.security.rls_filters} row-level security filters"
    )
    table = Table("user", "roles", "password file")
    for username, _, roles in summary.security.users:
        table.add_row(username, ", ".join(roles), str(demo_password_path(settings, username)))
    console.print(table)


@app.command()
def export() -> None:
    """Write what is in Superset (e.g. edited in the UI) back to superset_assets/ as normalised YAML."""
    settings = get_settings()
    with superset_runtime.connect(settings) as client, console.status("exporting from Superset..."):
        result = export_assets(client)
    for path in result.written:
        console.print(f"[yellow]written[/yellow] {ASSETS_DIR.name}/{path}")
    console.print(f"{len(result.unchanged)} files unchanged")
    for path in result.only_in_repository:
        console.print(f"[red]not in Superset[/red] {ASSETS_DIR.name}/{path} (delete it if that was intended)")


@app.command()
def serve() -> None:
    """Run Superset (gunicorn) in the foreground on PULSE_SUPERSET_PORT."""
    raise typer.Exit(superset_runtime.serve(get_settings()))


@app.command()
def start() -> None:
    """Start Superset in the background (pidfile and log under PULSE_HOME/run)."""
    settings = get_settings()
    with console.status("starting Superset..."):
        pid = superset_runtime.start(settings)
    console.print(f"[green]✓[/green] Superset (pid {pid}) at {superset_runtime.base_url(settings)}")


@app.command()
def stop() -> None:
    """Stop the background Superset."""
    was = superset_runtime.stop(get_settings())
    console.print(f"superset: {'stopped' if was else 'was not running'}")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(ctx: typer.Context) -> None:
    """Any `superset` command with Pulse's configuration, e.g. `pulse superset run fab list-users`."""
    settings = get_settings()
    command = [superset_runtime.venv_executable("superset"), *ctx.args]
    raise typer.Exit(subprocess.call(command, env=superset_runtime.superset_env(settings)))
