"""The one way Pulse code connects to the warehouse: clickhouse-connect, configured from settings."""

from __future__ import annotations

from typing import Any

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from pulse.core.settings import Settings, get_settings


def connect(settings: Settings | None = None, **kwargs: Any) -> Client:
    """A clickhouse-connect client for PULSE_CLICKHOUSE_URL (the embedded server by default), as its user; the
    embedded admin's password comes from PULSE_HOME/secrets when the URL names none."""
    settings = settings or get_settings()
    kwargs.setdefault("password", settings.clickhouse_password)
    return clickhouse_connect.get_client(dsn=settings.clickhouse_url, **kwargs)
