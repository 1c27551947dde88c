"""`pulse`: the one command that fronts every part of the lineup."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from extractors.cli import app as extract_app
from operational_api.cli import app as api_app
from pulse.airflow.cli import app as airflow_app
from pulse.alerts.cli import app as alerts_app
from pulse.core.console import PulseError, console
from pulse.core.settings import get_settings, masked, settings_markdown, settings_table
from pulse.dbt.docs import app as dbt_docs_app
from pulse.metrics_cli import app as metrics_app
from pulse.portal.cli import app as portal_app
from pulse.superset.cli import app as superset_app
from reports.cli import app as reports_app
from simulator.cli import simulate
from warehouse.embedded.cli import app as warehouse_app

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
app.add_typer(superset_app, name="superset")
app.add_typer(reports_app, name="reports")
app.add_typer(portal_app, name="portal")
app.add_typer(alerts_app, name="alerts")
app.add_typer(dbt_docs_app, name="dbt-docs")
app.add_typer(metrics_app, name="metrics")


@app.command("settings")
def show_settings(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print docs/settings.md instead: every setting, default and meaning.")
    ] = False,
) -> None:
    """Show every PULSE_* setting with its default and current value (passwords and keys masked)."""
    if markdown:
        typer.echo(settings_markdown(), nl=False)
        return
    current_values = get_settings().model_dump(mode="json")  # nested models as JSON, so masked() finds their hashes
    table = Table("variable", "default", "current")
    for env, default, _ in settings_table():
        current = current_values[env.removeprefix("PULSE_").lower()]
        shown = masked(json.dumps(current) if isinstance(current, dict | list) else str(current))
        if any(word in env.lower() for word in ("password", "secret", "key")) and current:
            shown = "***"
        table.add_row(env, masked(default), shown)
    console.print(table)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def dbt(ctx: typer.Context) -> None:
    """Run dbt on dbt_project/ against the warehouse (e.g. `pulse dbt build`, `pulse dbt docs generate`)."""
    from pulse.dbt.runner import run_dbt

    raise typer.Exit(run_dbt(list(ctx.args)))


@app.command()
def up(airflow: bool = typer.Option(True, help="Also start Airflow (scheduler and UI).")) -> None:
    """Start the platform's services (warehouse, API, Airflow) in the background, without demo data."""
    from pulse.platform import lineup

    lineup.bring_up(get_settings(), airflow=airflow)


@app.command()
def down() -> None:
    """Stop every background service (graceful: running work finishes first)."""
    from pulse.platform import lineup

    lineup.stop_all(get_settings())


@app.command()
def status() -> None:
    """Show each service's health."""
    from pulse.platform import lineup

    table = Table("service", "pid", "health", "health URL")
    rows = lineup.status(get_settings())
    for name, pid, ok, url in rows:
        table.add_row(name, str(pid or "-"), "[green]healthy" if ok else "[red]down", url)
    console.print(table)
    if not all(ok for _, _, ok, _ in rows):
        raise typer.Exit(1)


@app.command()
def demo(
    live: bool = typer.Option(True, help="Keep posting live traffic until Ctrl-C, then stop everything."),
    live_seconds: float | None = typer.Option(None, help="Stop the live traffic (and the platform) after this long."),
) -> None:
    """The whole platform on embedded defaults: services, a year of simulated history, ELT, reports,
    dashboards, then live traffic until Ctrl-C. With --no-live the services keep running (`pulse down`)."""
    from pulse.platform import demo as demo_module

    demo_module.run(live=live, live_seconds=live_seconds)


def main() -> None:
    try:
        app()
    except PulseError as err:
        console.print(f"[red]error:[/red] {err}")
        if err.hint:
            console.print(f"[yellow]next:[/yellow] {err.hint}")
        sys.exit(1)
