"""Clients of the warehouse as its least-privileged identities: the read-only user (recipient queries, report
data, the metrics API) and each hospital's own identity (its rows of the hospital marts only)."""

from __future__ import annotations

from urllib.parse import urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import OperationalError

from pulse.core.settings import READER_USER, Settings
from warehouse.access import hospital_user, settings_hospital_password

QUERY_SECONDS = 300


class WarehouseUnavailable(RuntimeError):
    """The warehouse did not answer (nothing is known about the query)."""


def reader_client(settings: Settings) -> Client:
    """A client of the warehouse as the read-only user (recipient queries and report data only read)."""
    return _client(settings, READER_USER, settings.reader_password())


def hospital_client(settings: Settings, hospital_id: int) -> Client:
    """A client of the warehouse as one hospital's identity: it reads that hospital's rows of the hospital marts
    and nothing else, whatever the query says (the warehouse filters every granted table)."""
    user = hospital_user([hospital_id])
    return _client(settings, user, settings_hospital_password(settings, user))


def _client(settings: Settings, user: str, password: str) -> Client:
    url = urlsplit(settings.clickhouse_url)
    try:
        return clickhouse_connect.get_client(
            host=settings.clickhouse_host,
            port=settings.clickhouse_port,
            username=user,
            password=password,
            secure=url.scheme == "https",
            connect_timeout=10,
            send_receive_timeout=QUERY_SECONDS,
        )
    except OperationalError as err:
        raise WarehouseUnavailable(f"the warehouse at {settings.clickhouse_host}:{settings.clickhouse_port} "
                                   f"did not answer: {err}") from None  # fmt: skip
