"""Running dbt on the project in `dbt_project/`, connected to the warehouse from Pulse's settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pulse.settings import Settings, get_settings

PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"


def dbt_env(settings: Settings | None = None) -> dict[str, str]:
    """Environment for dbt: connection from PULSE_CLICKHOUSE_URL, artifacts and logs under PULSE_HOME."""
    settings = settings or get_settings()
    return {
        **os.environ,
        "PULSE_DBT_HOST": settings.clickhouse_host,
        "PULSE_DBT_PORT": str(settings.clickhouse_port),
        "PULSE_DBT_USER": settings.clickhouse_user,
        "PULSE_DBT_PASSWORD": settings.clickhouse_password,
        "PULSE_DBT_SECURE": str(settings.clickhouse_url.startswith("https")),
        "PULSE_DBT_CLUSTER": settings.dbt_cluster or "",
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
        "DBT_PROJECT_DIR": str(PROJECT_DIR),
        "DBT_TARGET_PATH": str(settings.home / "dbt" / "target"),
        "DBT_LOG_PATH": str(settings.home / "dbt" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def dbt_executable() -> str:
    return str(Path(sys.executable).parent / "dbt")


def run_dbt(args: list[str], settings: Settings | None = None) -> int:
    """Run `dbt <args>` in a child process; returns its exit code (output goes to the terminal)."""
    return subprocess.call([dbt_executable(), *args], env=dbt_env(settings), cwd=PROJECT_DIR)
