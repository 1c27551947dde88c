"""The embedded platform's long-running services, in start order: `pulse up`, `pulse down`, `pulse status`."""

from __future__ import annotations

import os
import sys

from pulse.airflow.runtime import airflow_env
from pulse.core import processes
from pulse.core.processes import Service, pulse_command, pulse_env
from pulse.core.settings import Settings
from pulse.dbt import docs as dbt_docs
from pulse.superset import runtime as superset_runtime
from reports import sink as mail_sink
from warehouse.embedded import server as warehouse_server


def api_service(settings: Settings) -> Service:
    env = pulse_env(settings)
    if settings.ops_database_url:
        env["PULSE_OPS_DATABASE_URL"] = settings.ops_database_url
    return Service(
        name="api",
        command=pulse_command("api", "serve"),
        health_url=f"http://{settings.api_host}:{settings.api_port}/healthz",
        env=env,
    )


# The demo's ELT runs often enough that dashboards move while live traffic flows (unless the user chose).
DEMO_ELT_SCHEDULE = "*/10 * * * *"


def airflow_service(settings: Settings, *, demo: bool = False) -> Service:
    env = airflow_env(settings)
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
        airflow_service(settings),
        superset_runtime.service(settings),  # dashboards: healthy when its login page renders
        dbt_docs.service(settings),  # models, columns, tests and lineage (started once the marts are built)
    ]


def status(settings: Settings) -> list[tuple[str, int | None, bool, str]]:
    """(name, pid, healthy, health URL) of every service."""
    return [
        (s.name, processes.running_pid(s, settings), processes.healthy(s), s.health_url) for s in all_services(settings)
    ]
