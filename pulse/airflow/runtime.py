"""Airflow on embedded defaults: its home, metadata (SQLite) and connections under PULSE_HOME.

`pulse airflow init` migrates the metadata database and parses the dbt project (a broken project shows there);
`pulse airflow test <dag>` runs a DAG once end to end (`airflow dags test`); `pulse airflow serve` starts the
scheduler, DAG processor, triggerer and web UI (`airflow standalone`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pulse.airflow.elt_tasks import connection_env, repo_dags_folder
from pulse.core.console import PulseError
from pulse.core.secrets import persistent_secret
from pulse.core.settings import Settings, get_settings
from pulse.dbt.runner import dbt_env, run_dbt

AIRFLOW_ADMIN = "admin"


def airflow_home(settings: Settings) -> Path:
    return settings.home / "airflow"


def airflow_env(settings: Settings | None = None) -> dict[str, str]:
    settings = settings or get_settings()
    home = airflow_home(settings)
    venv_bin = str(Path(sys.executable).parent)
    return {
        **dbt_env(settings),
        **connection_env(settings),
        "PATH": f"{venv_bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "PULSE_HOME": str(settings.home),
        "PULSE_CLICKHOUSE_URL": settings.clickhouse_url,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(repo_dags_folder()),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(settings.airflow_port),
        # Behind a login: one admin whose password is generated into PULSE_HOME/secrets (production sets its own
        # auth manager and users). Nobody is an anonymous admin.
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{AIRFLOW_ADMIN}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file(settings)),
        # The platform is meant to run: its DAGs start scheduled, not paused.
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",  # Airflow's default is every interface
    }


def admin_password(settings: Settings) -> str:
    return persistent_secret(settings.secrets_dir / "airflow_admin_password")


def passwords_file(settings: Settings) -> Path:
    """The simple auth manager's passwords file, written from the generated secret (mode 0600)."""
    path = airflow_home(settings) / "simple_auth_manager_passwords.json"
    wanted = json.dumps({AIRFLOW_ADMIN: admin_password(settings)})
    if not path.exists() or path.read_text() != wanted:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(wanted)
    return path


def airflow(args: list[str], settings: Settings | None = None, check: bool = True) -> int:
    env = airflow_env(settings)
    code = subprocess.call([str(Path(sys.executable).parent / "airflow"), *args], env=env)
    if check and code != 0:
        raise PulseError(f"`airflow {' '.join(args)}` failed (exit {code})", "read the output above")
    return code


def init(settings: Settings | None = None) -> None:
    """Migrate Airflow's metadata database and parse the dbt project (the dbt task's own parse is then partial)."""
    settings = settings or get_settings()
    airflow_home(settings).mkdir(parents=True, exist_ok=True)
    airflow(["db", "migrate"], settings)
    if run_dbt(["parse", "--quiet"], settings) != 0:
        raise PulseError("dbt parse failed", "run `pulse dbt parse` to see why")
