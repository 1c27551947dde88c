"""`pulse airflow ...`: Airflow on embedded defaults (metadata and connections under PULSE_HOME)."""

from __future__ import annotations

import typer

from pulse.airflow import runtime as airflow_runtime

app = typer.Typer(help="Airflow: init, run a DAG once, serve the UI.", no_args_is_help=True)


@app.command()
def init() -> None:
    """Migrate Airflow's metadata database and parse the dbt project for the DAGs."""
    airflow_runtime.init()


@app.command("test")
def run_dag_once(
    dag_id: str = typer.Argument("pulse_elt"), date: str = typer.Option(None, help="Logical date.")
) -> None:
    """Run one DAG end to end once (`airflow dags test`); exits non-zero if a task fails."""
    airflow_runtime.airflow(["dags", "test", dag_id, *([date] if date else [])])


@app.command()
def serve() -> None:
    """Start Airflow (scheduler, DAG processor, triggerer, API server and UI) in the foreground."""
    airflow_runtime.airflow(["standalone"])


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(ctx: typer.Context) -> None:
    """Any airflow command with Pulse's environment, e.g. `pulse airflow run dags list`."""
    raise typer.Exit(airflow_runtime.airflow(list(ctx.args), check=False))
