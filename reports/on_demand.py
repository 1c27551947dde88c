"""What a report manager does between schedules: preview one recipient's statement, send now (to everyone or to
one recipient, for the current or a past period), and requeue statements left in doubt. The portal and the API
both call these; a send goes through the same ledger as a scheduled run, so it never sends a statement twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from operational_api.models import utcnow
from operational_api.services.common import Invalid, NotFound
from operational_api.services.recipient_queries import RecipientRow, run_query
from pulse.core.run_ids import new_run_id
from pulse.core.settings import Settings
from reports.data import load_report_data
from reports.delivery import RunReport, Subscription, resolve, run_period, run_subscription
from reports.render import RenderedReport, render_pdf
from warehouse.identities import reader_client

REQUEUE_STATES = ("failed", "in_doubt")


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


def recipients(settings: Settings, sub: Subscription) -> list[Recipient]:
    """Every usable row of the subscription's recipient query, as the next run would read it."""
    id_param = sub.spec.id_params[0] if sub.spec.id_params else None
    rows = run_query(reader_client(settings), sub.kind, sub.recipient_query)
    return [
        Recipient(row.email.lower(), row.locale or "", row.name, row.params.get(id_param) if id_param else None)
        for row in rows
        if row.email
    ]


def _row(settings: Settings, sub: Subscription, key: str) -> RecipientRow:
    email, _, recipient_id = key.partition("|")
    id_param = sub.spec.id_params[0] if sub.spec.id_params else None
    for row in run_query(reader_client(settings), sub.kind, sub.recipient_query):
        if (row.email or "").lower() != email.lower():
            continue
        if not recipient_id or id_param is None or row.params.get(id_param) == recipient_id:
            return row
    raise NotFound(f"{email} is not among the recipients of {sub.name}")


def preview(
    settings: Settings, sub: Subscription, *, recipient: str, period: str | None, locale: str | None = None
) -> RenderedReport:
    """The statement `recipient` (a Recipient.key) would get for `period` (default: the next run's), rendered now.
    Nothing is recorded or sent."""
    now = utcnow()
    try:
        the_period = run_period(sub, period=period or None, fire_at=None, now=now)
    except ValueError as err:
        raise Invalid("bad period", [(("query", "period"), str(err))]) from None
    (planned,), _ = resolve(sub.spec, [_row(settings, sub, recipient)], the_period, set())
    if planned.state == "failed":
        raise Invalid("this recipient cannot be stated", [(("query", "recipient"), planned.error or "")])
    chosen = locale or planned.locale
    data = load_report_data(reader_client(settings), sub.kind, planned.params, chosen)
    return render_pdf(sub.kind, data, chosen)


def send_now(
    settings: Settings,
    sub: Subscription,
    *,
    period: str | None,
    email: str | None = None,
    now: dt.datetime | None = None,
) -> RunReport:
    """Plan `period` (default: the period the latest fire time reports on) for everyone or one address, and send
    what the ledger has not sent yet. A past period is a backfill; repeating it sends nothing twice."""
    try:
        if period:
            sub.spec.check_period(period)
    except ValueError as err:
        raise Invalid("bad period", [(("body", "period"), str(err))]) from None
    return run_subscription(settings, sub, period=period or None, run_id=new_run_id("send-now"), now=now,
                            email=email.lower() if email else None, workers=1)  # fmt: skip
