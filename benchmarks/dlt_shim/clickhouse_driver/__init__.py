"""A stand-in for `clickhouse_driver` (native TCP) that talks ClickHouse's HTTP protocol (benchmark peer only)."""

from __future__ import annotations

from . import dbapi, errors
from .dbapi import connect

__all__ = ["connect", "dbapi", "errors"]
