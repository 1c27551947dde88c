"""The embedded platform's long-running services, in start order, and the three commands that run them:
`pulse up` (bring_up), `pulse status` (status) and `pulse down` (stop_all)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from pulse.airflow import runtime as airflow_runtime
from pulse.alerts import service as alerts_service
from pulse.core import processes
from pulse.core.console import PulseError, console
from pulse.core.processes import Service, pulse_command, pulse_env
from pulse.core.settings import Settings
from pulse.dbt import docs as dbt_docs
from pulse.portal.cli import portal_url
from pulse.superset import runtime as superset_runtime
from reports import sink as mail_sink
from warehouse.client import connect
from warehouse.ddl import WarehouseDDL
from warehouse.embedded import server as warehouse_server


def api_service(settings: Settings) -> Service:
    env = pulse_env(settings)
    if settings.ops_database_url:
        env["PULSE_OPS_DATABASE_URL"] = settings.ops_database_url
    return Service(
        name="api",
        command=pulse_command("portal", "serve"),  # the API with the report actions and the portal
        health_url=f"http://{settings.api_host}:{settings.api_port}/healthz",
        env=env,
    )


# The demo's ELT runs often enough that dashboards move while live traffic flows (unless the user chose).
DEMO_ELT_SCHEDULE = "*/10 * * * *"


def airflow_service(settings: Settings, *, demo: bool = False) -> Service:
    env = airflow_runtime.airflow_env(settings)
    if demo and "PULSE_ELT_SCHEDULE" not in os.environ:
        env["PULSE_ELT_SCHEDULE"] = DEMO_ELT_SCHEDULE
    return Service(
        name="airflow",
        command=[sys.executable, "-m", "pulse.airflow.standalone"],  # standalone without log servers
        health_url=f"http://127.0.0.1:{settings.airflow_port}/api/v2/monitor/health",
        env=env,
        start_timeout=240.0,
    )


def all_services(settings: Settings) -> list[Service]:
    # The SMTP sink stands in for a mail relay on embedded defaults (PULSE_SMTP_SINK=false with a relay).
    sink = [mail_sink.service(settings)] if settings.smtp_sink else []
    return [
        warehouse_server.service(settings),
        api_service(settings),
        *sink,
        alerts_service.service(settings),
        airflow_service(settings),
        superset_runtime.service(settings),  # dashboards: healthy when its login page renders
        dbt_docs.service(settings),  # models, columns, tests and lineage (started once the marts are built)
    ]


def status(settings: Settings) -> list[tuple[str, int | None, bool, str]]:
    """(name, pid, healthy, health URL) of every service."""
    return [
        (s.name, processes.running_pid(s, settings), processes.healthy(s), s.health_url) for s in all_services(settings)
    ]


def warehouse_round_trip(settings: Settings) -> str:
    """Create, insert, aggregate and drop a table through the HTTP interface, as any client would."""
    client, ddl = connect(settings), WarehouseDDL.from_settings(settings)
    table = f"round_trip_{uuid.uuid4().hex[:8]}"
    client.command(
        f"CREATE TABLE {table}{ddl.on_cluster} (id UInt32, amount Decimal(12, 2)) "
        f"ENGINE = {ddl.engine('MergeTree')} ORDER BY id{ddl.table_settings}"
    )
    try:
        client.insert(table, [[i, i * 1.5] for i in range(1000)], column_names=["id", "amount"])
        rows, total = client.query(f"SELECT count(), sum(amount) FROM {table}").result_rows[0]
    finally:
        client.command(ddl.drop_table(table))
    return f"{rows} rows written and read back, sum(amount) = {total}"


def run_pulse(args: list[str], settings: Settings, what: str) -> None:
    """Run a `pulse` command in a child process with these settings; PulseError naming `what` if it fails."""
    code = subprocess.call(args, env=pulse_env(settings))
    if code != 0:
        raise PulseError(f"{what} failed (exit {code})", "read the output above")


def bring_up(settings: Settings, *, airflow: bool, alerts: bool = True) -> None:
    """Start the services (idempotent): warehouse, API (after migrating the store), the SMTP sink on embedded
    defaults, the alerts service (with the default alert rules), optionally Airflow. Superset and the dbt docs need built marts: `pulse demo` starts them."""
    with console.status("starting the warehouse (ClickHouse over HTTP)..."):
        pid = warehouse_server.start(settings)
    console.print(f"[green]✓[/green] warehouse (pid {pid}): {warehouse_round_trip(settings)}")
    run_pulse(pulse_command("api", "migrate"), settings, "migrating the operational store")
    with console.status("starting the operational API..."):
        pid = processes.start(api_service(settings), settings)
    console.print(f"[green]✓[/green] operational API and report portal (pid {pid}): {portal_url(settings)}")
    if settings.smtp_sink:
        with console.status("starting the SMTP sink..."):
            pid = processes.start(mail_sink.service(settings), settings)
        console.print(f"[green]✓[/green] SMTP sink (pid {pid}): mail lands in {mail_sink.outbox_dir(settings)}")
    run_pulse(pulse_command("alerts", "defaults"), settings, "creating the default alert rules")
    if alerts:
        start_alerts(settings)
    if airflow:
        start_airflow(settings, demo=False)


def start_alerts(settings: Settings) -> None:
    with console.status("starting the alerts service..."):
        pid = processes.start(alerts_service.service(settings), settings)
    console.print(f"[green]✓[/green] alerts (pid {pid}): rules evaluated every {settings.alerts_interval_seconds:g} s")


def start_airflow(settings: Settings, *, demo: bool) -> None:
    with console.status("preparing Airflow (metadata database, dbt manifest)..."):
        airflow_runtime.init(settings)
    with console.status("starting Airflow (scheduler, DAG processor, triggerer, UI)..."):
        pid = processes.start(airflow_service(settings, demo=demo), settings)
    console.print(f"[green]✓[/green] Airflow (pid {pid})")


def stop_all(settings: Settings) -> None:
    """Stop every background service in reverse start order (each finishes its running work first)."""
    for service in reversed(all_services(settings)):
        with console.status(f"stopping {service.name}..."):
            was = processes.stop(service, settings)
        console.print(f"{service.name}: {'stopped' if was else 'was not running'}")
