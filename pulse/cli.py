"""`pulse`: the one command that fronts every part of the platform."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from extractors.cli import app as extract_app
from operational_api.cli import app as api_app
from pulse.airflow_cli import app as airflow_app
from pulse.console import PulseError, console
from pulse.settings import get_settings, settings_table
from simulator.cli import simulate
from warehouse.cli import app as warehouse_app

app = typer.Typer(
    help="Pulse: analytics and BI platform with an ETL warehouse.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(warehouse_app, name="warehouse")
app.add_typer(api_app, name="api")
app.command("simulate")(simulate)
app.add_typer(extract_app, name="extract")
app.add_typer(airflow_app, name="airflow")


@app.command("settings")
def show_settings() -> None:
    """Show every PULSE_* setting with its default and current value."""
    settings = get_settings()
    table = Table("variable", "default", "current")
    for env, default, _ in settings_table():
        current = getattr(settings, env.removeprefix("PULSE_").lower())
        shown = str(current)
        if "password" in env.lower() and current:
            shown = "***"
        table.add_row(env, default, shown)
    console.print(table)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def dbt(ctx: typer.Context) -> None:
    """Run dbt on dbt_project/ against the warehouse (e.g. `pulse dbt build`, `pulse dbt docs generate`)."""
    from pulse.dbt import run_dbt

    raise typer.Exit(run_dbt(list(ctx.args)))


@app.command()
def demo() -> None:
    """Start the platform on embedded defaults, prove it works, and print how to connect."""
    from pulse import demo as demo_module

    demo_module.run()


def main() -> None:
    try:
        app()
    except PulseError as err:
        console.print(f"[red]error:[/red] {err}")
        if err.hint:
            console.print(f"[yellow]next:[/yellow] {err.hint}")
        sys.exit(1)
