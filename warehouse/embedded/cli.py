"""`pulse warehouse ...`: the embedded ClickHouse-compatible warehouse server."""

from __future__ import annotations

import logging

import typer

from pulse.core.console import console
from pulse.core.settings import get_settings
from warehouse.embedded import server

app = typer.Typer(help="The embedded warehouse server (ClickHouse over HTTP).", no_args_is_help=True)


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Listen address (default: from PULSE_CLICKHOUSE_URL)."),
    port: int | None = typer.Option(None, help="Listen port (default: from PULSE_CLICKHOUSE_URL)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every request."),
) -> None:
    """Run the warehouse in the foreground until Ctrl-C or SIGTERM."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    server.serve(get_settings(), host, port)


@app.command()
def start() -> None:
    """Start the warehouse in the background and wait until it answers."""
    settings = get_settings()
    with console.status("starting the warehouse..."):
        pid = server.start(settings)
    console.print(f"[green]warehouse running[/green] (pid {pid}) at {settings.clickhouse_url.split('@')[-1]}")


@app.command()
def stop() -> None:
    """Stop the background warehouse gracefully (running queries finish first)."""
    settings = get_settings()
    with console.status("stopping the warehouse..."):
        was_running = server.stop(settings)
    console.print("[green]warehouse stopped[/green]" if was_running else "warehouse was not running")


@app.command()
def status() -> None:
    """Say whether the warehouse is running and healthy."""
    settings = get_settings()
    pid = server.running_pid(settings)
    if server.healthy(settings):
        console.print(f"[green]healthy[/green] (pid {pid}) at {settings.clickhouse_host}:{settings.clickhouse_port}")
    else:
        console.print(f"[red]not answering[/red] at {settings.clickhouse_host}:{settings.clickhouse_port}")
        raise typer.Exit(1)
