"""Loading report data from the marts: one entry point per recipient and a batched one for a whole run.

`load_many` is what a subscription run uses: it answers every recipient of a period with a few queries and
returns, in order, either the recipient's data or the `ReportDataError` that stops that recipient alone.
The data objects are frozen dataclasses of plain values, so they pickle cheaply into a process pool.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from clickhouse_connect.driver.client import Client

from pulse.core.vocabulary import LOCALES
from reports.catalogue import REPORTS, ReportData
from reports.data_common import ReportDataError


def check_kind_and_locale(kind: str, params: Mapping[str, str], locale: str) -> None:
    if kind not in REPORTS:
        raise ReportDataError(kind, params, "unknown report", hint=f"reports are: {', '.join(REPORTS)}")
    if locale not in LOCALES:
        raise ReportDataError(
            kind,
            params,
            f"unknown locale {locale!r}",
            hint=f"use one of: {', '.join(LOCALES)} (the recipient's language)",
        )


def load_many(
    client: Client, kind: str, params_list: Sequence[Mapping[str, str]], locale: str = "en"
) -> list[ReportData | ReportDataError]:
    """Data for many recipients of one report with a handful of queries; errors are returned, not raised.

    The data does not depend on the locale (labels and formats are applied when rendering); `locale` is only
    checked, so a run with a bad locale fails before it queries anything.
    """
    check_kind_and_locale(kind, {}, locale)
    return list(REPORTS[kind].load(client, params_list))


def load_report_data(client: Client, kind: str, params: Mapping[str, str], locale: str = "en") -> ReportData:
    """Data for one recipient; raises ReportDataError with what to do when it cannot be computed correctly."""
    check_kind_and_locale(kind, params, locale)
    (result,) = load_many(client, kind, [params], locale)
    if isinstance(result, ReportDataError):
        raise result
    return result
