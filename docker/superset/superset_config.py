"""Superset's configuration for Pulse, loaded by Superset itself through SUPERSET_CONFIG_PATH: in .venv-superset
on embedded defaults (`pulse superset ...`) and in the container image (docker/superset.Dockerfile), the same file.

Nothing here is site-specific: `pulse.superset.runtime.superset_env` derives every value from the PULSE_*
settings and passes it in the environment (the names Superset's own images use where one exists; docker-compose.yml
sets them in a deployment). Only the standard library is imported: this runs in Superset's environment, not Pulse's.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any


def _required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(f"{name} is not set: start Superset through `pulse superset ...`, which derives it")
    return value


APP_NAME = "Pulse"

# Signs sessions and encrypts the warehouse password Superset stores: stable across restarts.
SECRET_KEY = _required("SUPERSET_SECRET_KEY")
SQLALCHEMY_DATABASE_URI = _required("SUPERSET_DATABASE_URI")
if SQLALCHEMY_DATABASE_URI.startswith("sqlite"):
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    # Several gunicorn threads write the SQLite metadata (logs, key-value state): wait for the lock, don't fail.
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"connect_args": {"timeout": 30, "check_same_thread": False}}

    @event.listens_for(Engine, "connect")
    def _sqlite_wal(connection: Any, _record: Any) -> None:
        """Every request writes an audit row (Superset's event log): in WAL mode without a sync per commit that
        costs about a millisecond instead of an fsync, and readers in other workers never wait for it."""
        if isinstance(connection, sqlite3.Connection):
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()


# -- whose identity each query reaches the warehouse with ---------------------------------------------------------
# Superset's own row-level security is one layer; the warehouse enforces the second (warehouse/access.py). Every
# connection to Pulse's warehouse is rewritten here, per Superset user: executives, analysts and admins read as
# the read-only `pulse_reader`; anyone else as the identity of the hospitals their `hospital_<id>` roles name,
# which the warehouse restricts to those hospitals' rows; a user with neither gets an identity that does not
# exist, so the warehouse refuses them. Passwords are set here from the environment, never stored by Superset.
_READER_USER = os.environ.get("PULSE_WAREHOUSE_READER_USER", "pulse_reader")
_READER_PASSWORD = os.environ.get("PULSE_WAREHOUSE_READER_PASSWORD", "")
_HOSPITAL_KEY = os.environ.get("PULSE_WAREHOUSE_HOSPITAL_KEY", "")
_FULL_DATA_ROLES = frozenset(filter(None, os.environ.get("PULSE_SUPERSET_FULL_DATA_ROLES", "Admin").split(",")))
_HOSPITAL_ROLE_PREFIX = os.environ.get("PULSE_SUPERSET_HOSPITAL_ROLE_PREFIX", "hospital_")


def warehouse_identity(username: str | None, role_names: list[str]) -> tuple[str, str]:
    """(user, password) of the warehouse identity for a Superset user with these roles; None = a background
    task of Superset itself (imports, metadata), which reads as pulse_reader."""
    if username is None or _FULL_DATA_ROLES & set(role_names):
        return _READER_USER, _READER_PASSWORD
    prefix = _HOSPITAL_ROLE_PREFIX
    ids = sorted({int(r[len(prefix) :]) for r in role_names if r.startswith(prefix) and r[len(prefix) :].isdigit()})
    if not ids or not _HOSPITAL_KEY:
        return "pulse_no_data_access", ""
    import hashlib
    import hmac

    user = "pulse_hospital_" + "_".join(str(i) for i in ids)  # warehouse.access.hospital_user
    return user, hmac.new(_HOSPITAL_KEY.encode(), user.encode(), hashlib.sha256).hexdigest()


def DB_CONNECTION_MUTATOR(url: Any, params: Any, username: str | None, security_manager: Any, source: Any) -> Any:
    if url.username != _READER_USER:
        return url, params  # not Pulse's warehouse connection
    roles: list[str] = []
    if username is not None:
        user = security_manager.find_user(username=username)
        roles = [role.name for role in user.roles] if user is not None else []
    name, password = warehouse_identity(username, roles)
    return url.set(username=name, password=password), params


# -- the second layer: no ad-hoc SQL for users whose rows are filtered ----------------------------------------------
# Superset 6.1 emits an ad-hoc SQL filter column unparenthesised before its RLS clause (`WHERE 1 OR 1 IS NOT NULL
# AND (hospital_id = 1)`), and custom WHERE/HAVING text or SQL metrics are the same kind of door. The warehouse
# already holds such users to their rows; this refuses, before any view runs, every request that carries SQL text
# of theirs — a chart-data query, explore_json's form_data (body, form field or query string), a stored explore
# state — so Superset's own RLS stays intact too. Saved charts' SQL is the administrators' and is not affected
# unless such a user re-posts it, which the dashboards they are given never need.
_COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|`[A-Za-z_][A-Za-z0-9_]*`")


def _ad_hoc_sql(value: Any, depth: int = 0) -> str | None:
    """The first SQL text a request payload carries (an ad-hoc SQL column, metric or filter, custom WHERE/HAVING)."""
    if depth > 32:
        return "a payload nested too deeply to check"
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "["):
            import json

            try:
                return _ad_hoc_sql(json.loads(text), depth + 1)
            except ValueError:
                return None
        return None
    if isinstance(value, list):
        return next((found for item in value if (found := _ad_hoc_sql(item, depth + 1))), None)
    if isinstance(value, dict):
        expression = value.get("sqlExpression")
        # Superset's own charts send their x-axis as an SQL "expression" that is just the column's name
        # (columnType BASE_AXIS): a bare name only names a column, so it cannot widen a filter.
        names_a_column = isinstance(expression, str) and _COLUMN_NAME.fullmatch(expression.strip())
        if (value.get("expressionType") == "SQL" or expression) and not names_a_column:
            return str(expression or "an SQL expression")
        for key in ("where", "having"):
            if isinstance(value.get(key), str) and value[key].strip():
                return str(value[key])
        return next((found for item in value.values() if (found := _ad_hoc_sql(item, depth + 1))), None)
    return None


def _refuse_ad_hoc_sql() -> Any:
    from flask import jsonify, request
    from flask_login import current_user

    user = current_user
    if not getattr(user, "is_authenticated", False):
        from flask_jwt_extended import get_current_user, verify_jwt_in_request

        try:
            verify_jwt_in_request(optional=True)
            user = get_current_user()
        except Exception:  # a bad token: the view itself answers 401
            return None
    if user is None or not getattr(user, "is_authenticated", True):
        return None
    if _FULL_DATA_ROLES & {role.name for role in user.roles}:
        return None
    payloads: list[Any] = [v for _, v in request.args.items(multi=True)] + [
        v for _, v in request.form.items(multi=True)
    ]
    if request.is_json:
        payloads.append(request.get_json(silent=True, cache=True))
    if found := _ad_hoc_sql(payloads):
        response = jsonify(
            message="Ad-hoc SQL is not allowed for your role: use the dataset's own columns and metrics.",
            refused=found[:200],
        )
        response.status_code = 403
        return response
    return None


def FLASK_APP_MUTATOR(app: Any) -> None:
    app.before_request(_refuse_ad_hoc_sql)


# Native filters and row-level security are always on in Superset 6 (their flags are gone).
# Numbers the business's way: decimal and thousands separators, currency symbol (pulse.core.business.number_format).
if os.environ.get("PULSE_SUPERSET_D3_FORMAT"):
    D3_FORMAT = json.loads(os.environ["PULSE_SUPERSET_D3_FORMAT"])

# Weeks starting on Sunday (PULSE_WEEK_START=sunday; pulse.superset.assets imports weekly charts with this grain):
# Superset's ClickHouse spec knows only Monday weeks.
TIME_GRAIN_ADDON_EXPRESSIONS = {
    "clickhousedb": {"1969-12-28T00:00:00Z/P1W": "toStartOfWeek(toDateTime({col}), 0)"},
}

FEATURE_FLAGS = {
    # Dashboards carry roles: executives see every dashboard, hospital managers only theirs.
    "DASHBOARD_RBAC": True,
}

# Chart data is cached (per query, per RLS clause) so a dashboard opened twice does not ask the warehouse twice;
# the timeout matches how often the pipeline brings new data. Redis when given (shared by workers and hosts),
# else files under PULSE_HOME, which every gunicorn worker on this host shares.
_CACHE_TIMEOUT = int(os.environ.get("PULSE_SUPERSET_CACHE_TIMEOUT", "600"))
_REDIS_URL = os.environ.get("PULSE_SUPERSET_CACHE_REDIS_URL", "")
_CACHE_DIR = os.environ.get("PULSE_SUPERSET_CACHE_DIR", "")


def _cache(prefix: str, timeout: int) -> dict[str, Any]:
    if _REDIS_URL:
        return {
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": _REDIS_URL,
            "CACHE_KEY_PREFIX": f"pulse_{prefix}_",
            "CACHE_DEFAULT_TIMEOUT": timeout,
        }
    if _CACHE_DIR:
        return {
            "CACHE_TYPE": "FileSystemCache",
            "CACHE_DIR": os.path.join(_CACHE_DIR, prefix),
            "CACHE_DEFAULT_TIMEOUT": timeout,
            "CACHE_THRESHOLD": 100_000,
        }
    return {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": timeout}


DATA_CACHE_CONFIG = _cache("data", _CACHE_TIMEOUT)
CACHE_CONFIG = _cache("metadata", _CACHE_TIMEOUT)

# One palette for every Pulse chart (dashboards also pin colours per channel, so a channel looks the same
# everywhere). Tableau 10: distinguishable, and readable by most colour-blind viewers.
EXTRA_CATEGORICAL_COLOR_SCHEMES = [
    {
        "id": "pulseColors",
        "label": "Pulse",
        "description": "Pulse's dashboards",
        "isDefault": True,
        "colors": [
            "#4E79A7",
            "#F28E2B",
            "#59A14F",
            "#E15759",
            "#76B7B2",
            "#EDC948",
            "#B07AA1",
            "#FF9DA7",
            "#9C755F",
            "#BAB0AC",
        ],
    }
]


# Behind a TLS-terminating proxy (a deployment): Secure session cookies, and the proxy's X-Forwarded-* headers
# trusted. Both off on embedded defaults, where Superset listens on loopback without TLS.
SESSION_COOKIE_SECURE = os.environ.get("SUPERSET_COOKIE_SECURE", "false").lower() == "true"
ENABLE_PROXY_FIX = os.environ.get("SUPERSET_ENABLE_PROXY_FIX", "false").lower() == "true"
