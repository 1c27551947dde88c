"""Superset on Pulse's settings: its environment, metadata database, secrets and the gunicorn service.

Superset runs in its own virtual environment (.venv-superset: it pins SQLAlchemy 1.4) as a child process;
Pulse never imports it. `docker/superset/superset_config.py` is its configuration and reads what `superset_env` derives
from the PULSE_* settings: the metadata database (SQLite under PULSE_HOME by default), a secret key generated
once into PULSE_HOME/secrets, the chart-data cache. `init` migrates the metadata database and creates the
administrator; `service` is the background gunicorn process `pulse up|status|down` manage. It is healthy when
the login page renders: Superset's /health answers OK even when every page is a 500.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pulse.core import processes
from pulse.core.business import number_format
from pulse.core.console import PulseError
from pulse.core.paths import REPO, SUPERSET_DIR
from pulse.core.processes import Service
from pulse.core.secrets import persistent_secret
from pulse.core.settings import READER_USER, Settings
from pulse.superset.api import SupersetClient

SUPERSET_VENV = REPO / ".venv-superset"
CONFIG_FILE = SUPERSET_DIR / "superset_config.py"
BOOTSTRAP_SCRIPT = SUPERSET_DIR / "superset_bootstrap.py"
HOST = "127.0.0.1"


def superset_home(settings: Settings) -> Path:
    return settings.home / "superset"


def metadata_url(settings: Settings) -> str:
    return settings.superset_database_url or f"sqlite:///{superset_home(settings) / 'superset.db'}"


def secret_key(settings: Settings) -> str:
    if settings.superset_secret_key:
        return settings.superset_secret_key.get_secret_value()
    return persistent_secret(settings.secrets_dir / "superset_secret_key")


def admin_password(settings: Settings) -> str:
    if settings.superset_admin_password:
        return settings.superset_admin_password.get_secret_value()
    return persistent_secret(settings.secrets_dir / "superset_admin_password")


def base_url(settings: Settings) -> str:
    return f"http://{HOST}:{settings.superset_port}"


def venv_executable(name: str) -> str:
    path = SUPERSET_VENV / "bin" / name
    if not path.exists():
        raise PulseError(
            f"{path} is missing", "run `make install` to build .venv-superset from requirements/superset.lock"
        )
    return str(path)


def superset_env(settings: Settings) -> dict[str, str]:
    """The environment every Superset process gets: configuration file, secrets, metadata database, cache."""
    home = superset_home(settings)
    env = {
        **os.environ,
        "PATH": f"{SUPERSET_VENV / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "VIRTUAL_ENV": str(SUPERSET_VENV),
        "SUPERSET_CONFIG_PATH": str(CONFIG_FILE),
        "SUPERSET_HOME": str(home),  # Superset's DATA_DIR: uploads and its own files stay under PULSE_HOME
        "SUPERSET_SECRET_KEY": secret_key(settings),
        "SUPERSET_DATABASE_URI": metadata_url(settings),
        "PULSE_SUPERSET_CACHE_DIR": str(home / "cache"),
        "PULSE_SUPERSET_CACHE_TIMEOUT": str(settings.superset_cache_timeout),
        # Numbers the business's way (1,234.50 / 1 234,50): superset_config.D3_FORMAT.
        "PULSE_SUPERSET_D3_FORMAT": json.dumps(
            number_format(settings.business.locale, settings.business.currency).d3_locale()
        ),
        "FLASK_APP": "superset.app:create_app()",
        **warehouse_identities_env(settings),
    }
    env.pop("PYTHONPATH", None)  # Pulse's modules must not shadow Superset's dependencies
    if settings.superset_cache_redis_url:
        env["PULSE_SUPERSET_CACHE_REDIS_URL"] = settings.superset_cache_redis_url
    return env


def warehouse_identities_env(settings: Settings) -> dict[str, str]:
    """What superset_config.DB_CONNECTION_MUTATOR needs to pick each user's warehouse identity."""
    from pulse.superset.security import load_security

    spec = load_security()
    prefix = spec.hospital_role.split("{", 1)[0]
    return {
        "PULSE_WAREHOUSE_READER_USER": READER_USER,
        "PULSE_WAREHOUSE_READER_PASSWORD": settings.reader_password(),
        "PULSE_WAREHOUSE_HOSPITAL_KEY": settings.hospital_key(),
        "PULSE_SUPERSET_FULL_DATA_ROLES": ",".join(["Admin", *(r.name for r in spec.roles if r.schemas)]),
        "PULSE_SUPERSET_HOSPITAL_ROLE_PREFIX": prefix,
    }


def init(settings: Settings) -> None:
    """Migrate the metadata database, create permissions, built-in roles and the administrator (idempotent)."""
    superset_home(settings).mkdir(parents=True, exist_ok=True)
    env = {
        **superset_env(settings),
        "PULSE_SUPERSET_ADMIN_USER": settings.superset_admin_user,
        "PULSE_SUPERSET_ADMIN_PASSWORD": admin_password(settings),
    }
    # -P: the script's folder (pulse/) stays off sys.path, so nothing in it can shadow a Superset module.
    result = subprocess.run(
        [venv_executable("python"), "-P", str(BOOTSTRAP_SCRIPT)],
        env=env,
        cwd=superset_home(settings),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise PulseError(
            f"Superset's metadata initialisation failed (exit {result.returncode}):\n{result.stderr[-3000:]}",
            f"check PULSE_SUPERSET_DATABASE_URL ({metadata_url(settings).split('@')[-1]}) and rerun `pulse superset init`",
        )


def gunicorn_command(settings: Settings) -> list[str]:
    return [
        str(SUPERSET_VENV / "bin" / "gunicorn"),
        "--bind",
        f"{HOST}:{settings.superset_port}",
        "--workers",
        str(settings.superset_workers),
        # gthread: a dashboard fires one chart-data request per chart at once, each mostly waiting on the warehouse.
        "--worker-class",
        "gthread",
        "--threads",
        "8",
        "--timeout",
        "120",
        # Idle connections stay open longer than the 2 s default, so a client (or a proxy) reusing one does
        # not race the server closing it.
        "--keep-alive",
        "65",
        "--limit-request-line",
        "0",
        "--limit-request-field_size",
        "0",
        "--chdir",
        str(superset_home(settings)),
        "superset.app:create_app()",
    ]


def service(settings: Settings) -> Service:
    return Service(
        name="superset",
        command=gunicorn_command(settings),
        health_url=f"{base_url(settings)}/login/",
        env=superset_env(settings),
        start_timeout=180.0,
    )


def serve(settings: Settings) -> int:
    """Run Superset in the foreground (Ctrl-C stops it)."""
    venv_executable("gunicorn")
    superset_home(settings).mkdir(parents=True, exist_ok=True)
    return subprocess.call(gunicorn_command(settings), env=superset_env(settings))


def start(settings: Settings) -> int:
    """Start gunicorn in the background (idempotent); returns its pid once the login page renders."""
    venv_executable("gunicorn")
    superset_home(settings).mkdir(parents=True, exist_ok=True)
    return processes.start(service(settings), settings)


def stop(settings: Settings) -> bool:
    return processes.stop(service(settings), settings)


def connect(settings: Settings) -> SupersetClient:
    """A signed-in API session as the administrator."""
    return SupersetClient(base_url(settings), settings.superset_admin_user, admin_password(settings))


@dataclass(frozen=True)
class Logins:
    """What `pulse demo` prints: where Superset is, who can sign in, and where each password is kept (secrets are
    never printed: the demo's output ends up in terminals' scrollback and in logs)."""

    url: str
    admin: tuple[str, str]  # (username, where its password is)
    users: list[tuple[str, str, tuple[str, ...]]]  # (username, where its password is, roles)

    def lines(self) -> list[str]:
        """The demo's panel lines: the URL, then one login per line."""
        pulse_roles = [_roles_line(roles) for _, _, roles in self.users]
        return [
            f"Superset dashboards         {self.url}   admin {self.admin[0]}, password in {self.admin[1]}",
            *(
                f"  {user:<26}({roles}) password in {where}"
                for (user, where, _), roles in zip(self.users, pulse_roles, strict=True)
            ),
        ]


def _roles_line(roles: tuple[str, ...]) -> str:
    """Pulse's roles of a user, a sales rep's many hospital roles counted rather than listed."""
    shown = [r for r in roles if r not in ("Gamma", "sql_lab")]
    hospitals = [r for r in shown if r.startswith("hospital_")]
    if len(hospitals) > 2:
        shown = [r for r in shown if not r.startswith("hospital_")] + [f"{len(hospitals)} hospital roles"]
    return ", ".join(shown)


def set_up(settings: Settings) -> Logins:
    """Everything `pulse demo` needs from Superset, idempotent: metadata database and administrator, the
    server in the background, then dashboards, roles, row-level security and demo users imported."""
    init(settings)
    start(settings)
    return import_demo_assets(settings)


def import_demo_assets(settings: Settings) -> Logins:
    """The dashboards, roles, row-level security and demo users imported into the running Superset (what `pulse
    demo` does once the marts are built, Superset having started beside the data)."""
    from pulse.superset.assets import import_assets
    from pulse.superset.security import demo_password_path

    with connect(settings) as client:
        summary = import_assets(client, settings)
    admin_where = (
        "PULSE_SUPERSET_ADMIN_PASSWORD"
        if settings.superset_admin_password
        else str(settings.secrets_dir / "superset_admin_password")
    )
    users = [(user, str(demo_password_path(settings, user)), roles) for user, _, roles in summary.security.users]
    return Logins(base_url(settings), (settings.superset_admin_user, admin_where), users)
