"""Loading report data from the marts: one entry point per recipient and a batched one for a whole run.

`load_many` is what a subscription run uses: it answers every recipient of a period with a few queries and
returns, in order, either the recipient's data or the `ReportDataError` that stops that recipient alone.
The data objects are frozen dataclasses of plain values, so they pickle cheaply into a process pool.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from clickhouse_connect.driver.client import Client

from pulse.core.vocabulary import LOCALES, REPORT_KINDS
from reports.counterparty_statement import CounterpartyStatement, load_counterparty_statements
from reports.customer_statement import CustomerStatement, load_customer_statements
from reports.data_common import ReportDataError
from reports.executive_weekly import ExecutiveWeekly, load_executive_weeklies
from reports.hospital_statement import HospitalStatement, load_hospital_statements

ReportData = HospitalStatement | CustomerStatement | ExecutiveWeekly | CounterpartyStatement
Loader = Callable[[Client, Sequence[Mapping[str, str]]], Sequence[ReportData | ReportDataError]]

LOADERS: dict[str, Loader] = {
    "hospital_statement": load_hospital_statements,
    "customer_statement": load_customer_statements,
    "executive_weekly": load_executive_weeklies,
    "counterparty_statement": load_counterparty_statements,
}


def check_kind_and_locale(kind: str, params: Mapping[str, str], locale: str) -> None:
    if kind not in REPORT_KINDS:
        raise ReportDataError(kind, params, "unknown report", hint=f"reports are: {', '.join(REPORT_KINDS)}")
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
    return list(LOADERS[kind](client, params_list))


def load_report_data(client: Client, kind: str, params: Mapping[str, str], locale: str = "en") -> ReportData:
    """Data for one recipient; raises ReportDataError with what to do when it cannot be computed correctly."""
    check_kind_and_locale(kind, params, locale)
    (result,) = load_many(client, kind, [params], locale)
    if isinstance(result, ReportDataError):
        raise result
    return result
