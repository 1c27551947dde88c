"""`DictCursor`, as in `clickhouse_driver.dbapi.extras`."""

from __future__ import annotations

from typing import Any

from .cursor import Cursor


class DictCursor(Cursor):
    def fetchone(self) -> dict[str, Any] | None:  # type: ignore[override]
        row = super().fetchone()
        return None if row is None else dict(zip(self._columns, row, strict=True))

    def fetchmany(self, size: int | None = None) -> list[dict[str, Any]]:  # type: ignore[override]
        return [dict(zip(self._columns, row, strict=True)) for row in super().fetchmany(size)]

    def fetchall(self) -> list[dict[str, Any]]:  # type: ignore[override]
        return [dict(zip(self._columns, row, strict=True)) for row in super().fetchall()]
