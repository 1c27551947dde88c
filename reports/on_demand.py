"""What a report manager does between schedules: list a subscription's recipients, preview one recipient's
statement, send now (to everyone or to one recipient, for a past period: a backfill), and what a sales rep reads
of their own. The portal and the API both call these; a send goes through the same ledger as a scheduled run, so it
never sends a statement twice. Failures come out as the API's errors (Invalid: 422 naming the field; Unavailable:
503, nothing done), whoever calls.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from clickhouse_connect.driver.exceptions import ClickHouseError

from operational_api.db import Store
from operational_api.models import utcnow
from operational_api.services.common import Invalid, NotFound, Unavailable
from operational_api.services.recipient_queries import RecipientQueryError, RecipientRow, run_query
from pulse.core.report_kinds import spec_for
from pulse.core.run_ids import new_run_id
from pulse.core.settings import Settings
from reports import ledger
from reports.data import load_report_data
from reports.data_common import ReportDataError
from reports.delivery import RunReport, Subscription, resolve, run_period, run_subscription
from reports.render import RenderedReport, render_pdf
from warehouse.identities import WarehouseUnavailable, reader_client

REQUEUE_STATES = ("failed", "in_doubt")
SALES_REP_KIND = "sales_rep_statement"


@contextmanager
def warehouse_errors(field: tuple[str, ...]) -> Iterator[None]:
    """The warehouse's refusals as the API's errors: a query that no longer runs is a 422 at `field`, a warehouse
    that does not answer a 503."""
    try:
        yield
    except RecipientQueryError as err:
        raise Invalid("the recipient query cannot be used", [(field, str(err))]) from None
    except ReportDataError as err:
        raise Invalid("this statement cannot be made", [(field, str(err))]) from None
    except (WarehouseUnavailable, ClickHouseError) as err:
        raise Unavailable(f"the warehouse did not answer: {str(err).splitlines()[0][:300]}; try again") from None


@dataclass(frozen=True)
class Recipient:
    """One row of the recipient query, as a form lists it."""

    email: str
    locale: str
    name: str | None
    recipient_id: str | None  # the report's id parameter (e.g. the hospital id), None for the executive summary

    @property
    def key(self) -> str:
        """What a form posts back to name this row: email, and the id when the email has several rows."""
        return f"{self.email}|{self.recipient_id or ''}"


def _rows(settings: Settings, sub: Subscription) -> list[RecipientRow]:
    with warehouse_errors(("body", "recipient_query")):
        return run_query(reader_client(settings), sub.kind, sub.recipient_query)


def recipients(settings: Settings, sub: Subscription) -> list[Recipient]:
    """Every row of the subscription's recipient query that has an address, as the next run would read it."""
    id_param = sub.spec.id_params[0] if sub.spec.id_params else None
    return [
        Recipient(row.email.lower(), row.locale or "", row.name, row.params.get(id_param) if id_param else None)
        for row in _rows(settings, sub)
        if row.email
    ]


def _row(settings: Settings, sub: Subscription, key: str) -> RecipientRow:
    email, _, recipient_id = key.rpartition("|")  # an address may hold a `|`; an id never does
    id_param = sub.spec.id_params[0] if sub.spec.id_params else None
    for row in _rows(settings, sub):
        if (row.email or "").lower() != email.lower():
            continue
        if not recipient_id or id_param is None or row.params.get(id_param) == recipient_id:
            return row
    raise NotFound(f"{email} is not among the recipients of {sub.name}")


def preview(store: Store, sub: Subscription, *, recipient: str, period: str | None) -> RenderedReport:
    """The statement `recipient` (a Recipient.key) would get for `period` (default: the one a run now would
    state), in the language it would be sent in, rendered now. Nothing is recorded or sent."""
    settings = store.settings
    try:
        the_period = run_period(sub, period=period or None, fire_at=None, now=utcnow())
    except ValueError as err:
        raise Invalid("bad period", [(("query", "period"), str(err))]) from None
    chosen = ledger.preferred_locales(store)
    (planned,), _ = resolve(sub.spec, [_row(settings, sub, recipient)], the_period, set(), chosen)
    if planned.state == "failed":
        raise Invalid("this recipient cannot be stated", [(("query", "recipient"), planned.error or "")])
    with warehouse_errors(("query", "recipient")):
        data = load_report_data(reader_client(settings), sub.kind, planned.params, planned.locale)
    return render_pdf(sub.kind, data, planned.locale)


def send_now(
    settings: Settings,
    sub: Subscription,
    *,
    period: str | None,
    email: str | None = None,
    now: dt.datetime | None = None,
) -> RunReport:
    """Plan `period` (default: the one a run now would state, the last complete month or week) for everyone or one
    address, and send what the ledger has not sent yet. An earlier period is a backfill; repeating it sends
    nothing twice. A period that is not over yet is refused: its statement would be partial, and the ledger would
    then keep the scheduled, complete one from going out."""
    now = now or utcnow()
    latest = run_period(sub, period=None, fire_at=None, now=now)
    try:
        if period and sub.spec.check_period(period) > latest:  # YYYY-MM and YYYY-Www both sort as text
            raise ValueError(f"{period} is not over yet: the latest period to send is {latest}")
    except ValueError as err:
        raise Invalid("bad period", [(("body", "period"), str(err))]) from None
    with warehouse_errors(("body", "recipient_query")):
        return run_subscription(settings, sub, period=period or None, run_id=new_run_id("send-now"), now=now,
                                email=email.lower() if email else None)  # fmt: skip


def territory(settings: Settings, sales_rep_id: int) -> list[Sequence[Any]]:
    """(hospital code, name, city) of a sales rep's hospitals, as the warehouse has them (the statement and the
    dashboards read the same bridge)."""
    with warehouse_errors(("query", "sales_rep_id")):
        return list(
            reader_client(settings)
            .query(
                "SELECT hospital_code, hospital_name, city FROM marts.dim_sales_rep_hospitals "
                "WHERE sales_rep_id = {rep:Int64} ORDER BY hospital_code",
                parameters={"rep": sales_rep_id},
            )
            .result_rows
        )


def sales_rep_statement(settings: Settings, sales_rep_id: int, period: str, locale: str) -> RenderedReport:
    spec = spec_for(SALES_REP_KIND)
    try:
        spec.check_period(period)
    except ValueError as err:
        raise Invalid("bad period", [(("query", "period"), str(err))]) from None
    params = {spec.id_params[0]: str(sales_rep_id), spec.period_param: period}
    with warehouse_errors(("query", "period")):
        data = load_report_data(reader_client(settings), SALES_REP_KIND, params, locale)
    return render_pdf(SALES_REP_KIND, data, locale)
