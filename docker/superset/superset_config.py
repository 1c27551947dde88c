"""Superset's configuration in the container image: everything secret or site-specific comes from the environment.

docker-compose.yml sets SUPERSET_SECRET_KEY and SUPERSET_DATABASE_URI (the metadata database, PostgreSQL);
Superset reads this file through SUPERSET_CONFIG_PATH. The dashboards' warehouse connection is not configured
here: it arrives with Pulse's dashboard assets, as the read-only `pulse_reader` user.
"""

from __future__ import annotations

import os


def _required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(f"{name} is not set: put it in .env (see .env.example) and recreate the container")
    return value


# Signs sessions and encrypts the database passwords Superset stores: keep it stable across restarts.
SECRET_KEY = _required("SUPERSET_SECRET_KEY")
SQLALCHEMY_DATABASE_URI = _required("SUPERSET_DATABASE_URI")
# Behind a TLS-terminating proxy, set SUPERSET_COOKIE_SECURE=true so session cookies never travel in clear.
SESSION_COOKIE_SECURE = os.environ.get("SUPERSET_COOKIE_SECURE", "false").lower() == "true"
ENABLE_PROXY_FIX = os.environ.get("SUPERSET_ENABLE_PROXY_FIX", "false").lower() == "true"
