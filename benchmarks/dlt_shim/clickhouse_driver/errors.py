"""`clickhouse_driver.errors`: dlt imports the module; the DB-API classes are in `dbapi.errors`."""

from __future__ import annotations

from .dbapi.errors import Error


class ServerException(Error):
    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code
