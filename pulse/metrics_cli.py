"""`pulse metrics`: list the metrics layer and ask the warehouse for one, as the read-only user."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from pulse import metrics
from pulse.core.settings import get_settings

out = Console()  # answers go to stdout (pulse.core.console, for progress and errors, writes to stderr)
app = typer.Typer(help="The metrics layer (dbt_project/models/marts/*.yml, config.meta.metrics).", no_args_is_help=True)


@app.command("list")
def list_metrics(model: str = typer.Option(None, help="Only this mart's metrics.")) -> None:
    """Every metric: its mart, label and unit, the date a --period filters on; with --model, its dimensions."""
    table = Table("metric", "label", "unit", "period on", *(["dimensions (--by, --where)"] if model else []))
    for metric in metrics.load_metrics():
        if model in (None, metric.model):
            extra = [", ".join(metric.dimensions)] if model else []
            table.add_row(metric.key, metric.label, metric.unit, metric.time_dimension or "", *extra)
    out.print(table)


@app.command("query")
def query(
    name: str = typer.Argument(..., help="Metric name, or model.name where several marts have it."),
    by: list[str] = typer.Option([], "--by", help="Group by this dimension (repeatable)."),
    where: list[str] = typer.Option([], "--where", help="DIMENSION=VALUE (repeatable)."),
    period: str = typer.Option(None, help="YYYY-MM or YYYY-MM-DD..YYYY-MM-DD, on the metric's date dimension."),
    as_json: bool = typer.Option(False, "--json", help="Print rows as JSON (numbers as exact strings)."),
) -> None:
    """The metric from the warehouse, compiled from its one definition."""
    from warehouse.identities import reader_client

    metric = metrics.find(metrics.load_metrics(), name)
    compiled = metrics.compile_query(
        metric, by, metrics.parse_where(where, "="), metrics.parse_period(period) if period else None
    )
    result = reader_client(get_settings()).query(compiled.sql, parameters=compiled.parameters)
    rows = [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]
    if as_json:
        typer.echo(json.dumps(rows, default=str, ensure_ascii=False))
        return
    table = Table(*result.column_names, title=f"{metric.label} ({metric.key})")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    out.print(table)
