"""A DB-API connection: one clickhouse-connect HTTP client (one server session)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote, urlparse

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from .cursor import Cursor
from .errors import InterfaceError

# DSN query keys that configure the connection itself rather than being ClickHouse settings.
CONNECTION_KEYS = {"connect_timeout", "send_receive_timeout", "secure", "compression", "client_name"}
# Settings the HTTP interface handles itself (sent as URL parameters by clickhouse-connect when wanted).
HTTP_LEVEL = {"enable_http_compression"}


class Connection:
    def __init__(
        self,
        dsn: str | None = None,
        host: str | None = None,
        user: str = "default",
        password: str = "",
        port: int = 8123,
        database: str = "default",
        **kwargs: Any,
    ) -> None:
        settings: dict[str, Any] = {}
        secure = False
        connect_timeout = 15
        send_receive_timeout = 300
        if dsn is not None:
            url = urlparse(dsn)
            host = url.hostname or host
            port = url.port or port
            user = unquote(url.username) if url.username else user
            password = unquote(url.password) if url.password else password
            database = url.path.lstrip("/") or database
            for key, value in parse_qsl(url.query):
                if key == "secure":
                    secure = value.lower() in ("1", "true", "yes")
                elif key == "connect_timeout":
                    connect_timeout = int(float(value))
                elif key == "send_receive_timeout":
                    send_receive_timeout = int(float(value))
                elif key not in CONNECTION_KEYS and key not in HTTP_LEVEL:
                    settings[key] = value
        settings.update(kwargs.pop("settings", None) or {})
        self._client: Client | None = clickhouse_connect.get_client(
            host=host or "localhost",
            port=port,
            username=user,
            password=password,
            database=database,
            secure=secure,
            connect_timeout=connect_timeout,
            send_receive_timeout=send_receive_timeout,
            settings=settings,
            autogenerate_session_id=True,
        )

    @property
    def client(self) -> Client:
        if self._client is None:
            raise InterfaceError("connection already closed")
        return self._client

    def cursor(self, cursor_factory: type[Cursor] | None = None) -> Cursor:
        return (cursor_factory or Cursor)(self.client, self)

    def commit(self) -> None:
        """ClickHouse has no transactions: every statement is committed on its own."""

    def rollback(self) -> None:
        """Nothing to roll back (see `commit`)."""

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
