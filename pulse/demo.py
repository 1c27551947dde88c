"""`pulse demo`: bring the platform up on embedded defaults and show that it works."""

from __future__ import annotations

import uuid

from rich.panel import Panel

from pulse.console import console
from pulse.settings import READER_USER, Settings, get_settings
from warehouse import server as warehouse_server
from warehouse.client import connect


def warehouse_round_trip(settings: Settings) -> str:
    """Create, insert, aggregate and drop a table through the HTTP interface, as any client would."""
    client = connect(settings)
    table = f"demo_round_trip_{uuid.uuid4().hex[:8]}"
    client.command(f"CREATE TABLE {table} (id UInt32, amount Decimal(12, 2)) ENGINE = MergeTree ORDER BY id")
    try:
        client.insert(table, [[i, i * 1.5] for i in range(1000)], column_names=["id", "amount"])
        rows, total = client.query(f"SELECT count(), sum(amount) FROM {table}").result_rows[0]
    finally:
        client.command(f"DROP TABLE {table}")
    return f"{rows} rows written and read back, sum(amount) = {total}"


def run() -> None:
    settings = get_settings()
    console.rule("[bold]Pulse demo")
    with console.status("starting the embedded warehouse (ClickHouse over HTTP)..."):
        pid = warehouse_server.start(settings)
    console.print(f"[green]✓[/green] warehouse running (pid {pid})")
    with console.status("round trip through the warehouse..."):
        result = warehouse_round_trip(settings)
    console.print(f"[green]✓[/green] {result}")
    host, port = settings.clickhouse_host, settings.clickhouse_port
    console.print(
        Panel(
            f"ClickHouse HTTP   http://{host}:{port}   (user default, empty password)\n"
            f"read-only user    {READER_USER}, password in {settings.secrets_dir / 'warehouse_reader_password'}\n"
            f"curl              echo 'SELECT version()' | curl 'http://{host}:{port}/' --data-binary @-\n"
            f"python            clickhouse_connect.get_client(host='{host}', port={port})\n"
            f"dbt profile       type: clickhouse, host: {host}, port: {port}, schema: default\n"
            "stop              .venv/bin/pulse warehouse stop",
            title="Pulse is running",
        )
    )
