"""`pulse warehouse ...`: the embedded ClickHouse-compatible warehouse server."""

from __future__ import annotations

import typer

app = typer.Typer(help="The embedded warehouse server (ClickHouse over HTTP).", no_args_is_help=True)
