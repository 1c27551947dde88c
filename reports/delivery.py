"""Subscription runs: plan the recipients of a period into the ledger, then render and send in parallel.

A run is two steps, each safe to repeat:

1. plan: run the recipient query (read-only), resolve each row to (email, locale, period, parameters),
   and add the statements the ledger does not have yet (`reports.ledger.plan`);
2. deliver: every claimable row of the subscription - just planned, or failed earlier and due for a
   retry - is loaded in batches (`reports.data.load_many`), rendered, claimed, sent and recorded, by a
   pool of PULSE_REPORTS_WORKERS processes, each with its own SMTP connection for all its messages.

One recipient's failure (bad data, refused address) is recorded on its row and the others go on; an
SMTP server that cannot be reached fails the rest of a batch quickly (recorded, retried later).
"""

from __future__ import annotations

import datetime as dt
import math
import multiprocessing
import multiprocessing.util
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from clickhouse_connect.driver.client import Client
from email_validator import EmailNotValidError
from sqlalchemy import select

from operational_api.db import Store
from operational_api.models import ReportDelivery, ReportSubscription, utcnow
from operational_api.services.common import checked_email
from operational_api.services.recipient_queries import RecipientRow, run_query
from operational_api.unsubscribe import manage_url, signing_key, unsubscribe_url
from pulse.core import schedule
from pulse.core.console import PulseError
from pulse.core.report_kinds import KindSpec, spec_for
from pulse.core.run_ids import new_run_id
from pulse.core.settings import Settings
from pulse.core.vocabulary import LOCALES
from reports import ledger
from reports.ledger import Delivery, PlannedDelivery
from reports.mail import build_message, message_id, sender_address
from reports.smtp import Outcome, SmtpSender
from warehouse.identities import reader_client

MAX_CHUNK = 50
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Subscription:
    """A subscription as a run sees it (detached from any database session)."""

    id: int
    name: str
    kind: str
    cron: str
    time_zone: str
    enabled: bool
    recipient_query: str
    last_fired_at: dt.datetime | None
    created_at: dt.datetime
    attachments: tuple[str, ...] = ()  # besides the PDF, its tables as: csv, xlsx

    @classmethod
    def of(cls, row: ReportSubscription) -> Subscription:
        return cls(row.id, row.name, row.report_kind, row.cron, row.time_zone, row.enabled, row.recipient_query,
                   row.last_fired_at, row.created_at, tuple(row.attachments or ()))  # fmt: skip

    @property
    def spec(self) -> KindSpec:
        return spec_for(self.kind)


def find_subscription(store: Store, ref: str | int) -> Subscription:
    """A live subscription by id or name, else PulseError naming what exists."""
    with store.read() as session:
        query = select(ReportSubscription).where(ReportSubscription.deleted_at.is_(None))
        if isinstance(ref, int) or str(ref).isdigit():
            row = session.scalars(query.where(ReportSubscription.id == int(ref))).one_or_none()
        else:
            row = session.scalars(query.where(ReportSubscription.name == ref)).one_or_none()
        if row is None:
            names = session.scalars(query.with_only_columns(ReportSubscription.name)).all()
            raise PulseError(
                f"no report subscription {ref!r}",
                f"one of: {', '.join(names)}" if names else "create one: pulse reports seed-defaults",
            )
        return Subscription.of(row)


def live_subscriptions(store: Store) -> list[Subscription]:
    with store.read() as session:
        rows = session.scalars(
            select(ReportSubscription).where(ReportSubscription.deleted_at.is_(None)).order_by(ReportSubscription.id)
        )
        return [Subscription.of(row) for row in rows]


# -- plan ----------------------------------------------------------------------------------------------
def resolve(
    spec: KindSpec,
    rows: Sequence[RecipientRow],
    period: str,
    unsubscribed: set[str],
    preferred_locales: Mapping[str, str] | None = None,
) -> tuple[list[PlannedDelivery], int]:
    """Ledger rows for the query's rows: pending, skipped (unsubscribed) or failed for good (unusable row,
    with the reason). Rows without an email are not recipients: they are only counted. A language the recipient
    chose on their own page wins over the query's."""
    preferred_locales = preferred_locales or {}
    planned: list[PlannedDelivery] = []
    without_email = 0
    for row in rows:
        if row.email is None:
            without_email += 1
            continue
        params = {name: value for name, value in row.params.items() if name in spec.id_params}
        row_period = row.params.get(spec.period_param, period)
        params[spec.period_param] = row_period
        problems = [f"no {name}" for name in spec.id_params if name not in params]
        email = row.email.lower()
        try:
            email = checked_email(row.email)
        except EmailNotValidError as err:
            problems.append(f"not an email address: {err}")
        locale = preferred_locales.get(email, row.locale)
        if locale not in LOCALES:
            problems.append(f"locale {locale!r} is not one of {', '.join(LOCALES)}")
        try:
            spec.check_period(row_period)
        except ValueError as err:
            problems.append(str(err))
        item = PlannedDelivery(
            email=email[:254], period=row_period[:16], params=params, locale=(locale or "")[:8], name=row.name
        )
        if problems:
            item = replace(item, state="failed", error="; ".join(problems))
        elif email in unsubscribed:
            item = replace(item, state="skipped", error="unsubscribed")
        planned.append(item)
    return planned, without_email


def run_period(sub: Subscription, *, period: str | None, fire_at: dt.datetime | None, now: dt.datetime) -> str:
    """The period a run reports on: given, else the one before the fire time (or now) in the schedule's zone."""
    if period is not None:
        return sub.spec.check_period(period)
    moment = (fire_at or now).astimezone(ZoneInfo(sub.time_zone))
    return sub.spec.period_for(moment)


@dataclass
class PlanResult:
    period: str  # the run's period (rows may carry their own, from the query's period column)
    recipients: int  # rows the query returned
    added: int  # new ledger rows
    without_email: int
    planned: list[PlannedDelivery] = field(default_factory=list)

    @property
    def periods(self) -> str:
        """The periods actually planned, e.g. `2026-10` (or `2026-09, 2026-10` from a period column)."""
        return ", ".join(sorted({p.period for p in self.planned})) or self.period


def plan_subscription(
    settings: Settings,
    store: Store,
    sub: Subscription,
    *,
    period: str | None = None,
    fire_at: dt.datetime | None = None,
    run_id: str,
    now: dt.datetime,
    client: Client | None = None,
    dry_run: bool = False,
    email: str | None = None,
) -> PlanResult:
    """Run the recipient query and add this period's statements to the ledger (unless `dry_run`); with `email`,
    only that recipient's (send one now)."""
    the_period = run_period(sub, period=period, fire_at=fire_at, now=now)
    rows = run_query(client or reader_client(settings), sub.kind, sub.recipient_query)
    if email is not None:
        rows = [row for row in rows if (row.email or "").lower() == email.lower()]
    with store.read() as session:
        unsubscribed = ledger.unsubscribed_emails(session, sub.id)
    planned, without_email = resolve(sub.spec, rows, the_period, unsubscribed, ledger.preferred_locales(store))
    added = 0
    if not dry_run:
        added = ledger.plan(store, sub.id, planned, run_id=run_id, now=now)
        if fire_at is not None:
            with store.write() as session:
                row = session.get(ReportSubscription, sub.id)
                if row is not None and (row.last_fired_at is None or row.last_fired_at < fire_at):
                    row.last_fired_at = fire_at
    return PlanResult(the_period, len(rows), added, without_email, planned)


# -- deliver -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Chunk:
    """A batch of ledger rows for one worker (picklable: it crosses into a process pool)."""

    settings: Settings
    kind: str
    ids: tuple[int, ...]
    run_id: str
    now: dt.datetime
    attachments: tuple[str, ...] = ()  # the subscription's, read when the run starts


@dataclass
class ChunkResult:
    outcomes: Counter[str] = field(default_factory=Counter)


class Courier:
    """What one worker holds for all its batches: the store, a warehouse client, one SMTP connection."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings=settings)
        self.sender = SmtpSender(settings)
        self.key = signing_key(settings)
        self.from_address = sender_address(settings.smtp_from)
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = reader_client(self.settings)
        return self._client

    def close(self) -> None:
        self.sender.close()
        self._drop_client()
        self.store.dispose()

    def _fail(self, row: Delivery, error: str, chunk: Chunk, result: ChunkResult, *, claimed: bool) -> None:
        s = self.settings
        retry = ledger.retry_at(
            row.attempts + 1, base_seconds=s.reports_retry_seconds, max_attempts=s.reports_max_attempts, now=utcnow()
        )
        ledger.record_failure(self.store, row.id, error, next_attempt_at=retry, claimed=claimed, run_id=chunk.run_id)
        result.outcomes["failed"] += 1

    def deliver(self, chunk: Chunk) -> ChunkResult:
        """Load the batch's data in a few queries, then render, claim, send and record each row in turn."""
        from reports.render import load_many

        result = ChunkResult()
        rows = ledger.load(self.store, chunk.ids, chunk.now)
        result.outcomes["not claimable"] += len(chunk.ids) - len(rows)
        if not rows:
            return result
        try:
            loaded: list[Any] = list(load_many(self.client, chunk.kind, [row.params for row in rows]))
        except Exception as err:  # the warehouse or the loader failed: every row of the batch fails
            self._drop_client()
            loaded = [err] * len(rows)
        self.sender.down = None  # each batch gives an unreachable server a new chance
        for row, data in zip(rows, loaded, strict=True):
            self._deliver_row(row, data, chunk, result)
        return result

    def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _deliver_row(self, row: Delivery, data: Any, chunk: Chunk, result: ChunkResult) -> None:
        from reports.render import ReportDataError, render_pdf

        if self.sender.down is not None:  # the server was unreachable a moment ago: fail fast, retry later
            self._fail(row, self.sender.down, chunk, result, claimed=False)
            return
        if isinstance(data, Exception):
            message = str(data) if isinstance(data, ReportDataError) else f"{type(data).__name__}: {data}"
            self._fail(row, f"report data: {message}", chunk, result, claimed=False)
            return
        link = unsubscribe_url(self.settings, self.key, row.subscription_id, row.email)
        msg_id = message_id(row.subscription_id, row.email, row.period, row.params_sha256, self.settings.smtp_from)
        try:
            manage = manage_url(self.settings, self.key, row.email, utcnow())
            report = render_pdf(chunk.kind, data, row.locale, unsubscribe_url=link, manage_url=manage,
                                attachments=chunk.attachments)  # fmt: skip
            payload = build_message(smtp_from=self.settings.smtp_from, to_email=row.email, to_name=row.name,
                                    report=report, msg_id=msg_id, unsubscribe_url=link, delivery_id=row.id,
                                    now=utcnow())  # fmt: skip
        except Exception as err:  # one recipient's failure must not stop the others
            self._fail(row, f"rendering failed: {type(err).__name__}: {err}", chunk, result, claimed=False)
            return
        down = self.sender.connect()  # connect before the claim: an unreachable server sends nothing
        if down is not None:
            self._fail(row, down, chunk, result, claimed=False)
            return
        if not ledger.claim(self.store, row.id, message_id=msg_id, run_id=chunk.run_id, now=chunk.now):
            result.outcomes["not claimable"] += 1  # another run took it meanwhile, or they unsubscribed
            return
        sent = self.sender.send(self.from_address, row.email, payload)
        if sent.outcome is Outcome.SENT:
            ledger.record_sent(self.store, row.id)
            result.outcomes["sent"] += 1
        elif sent.outcome is Outcome.RETRY:
            self._fail(row, sent.detail, chunk, result, claimed=True)
        else:  # refused for good, or in doubt: never retried automatically
            in_doubt = sent.outcome is Outcome.IN_DOUBT
            ledger.record_failure(self.store, row.id, sent.detail, next_attempt_at=None, claimed=True,
                                  in_doubt=in_doubt, run_id=chunk.run_id)  # fmt: skip
            result.outcomes["in_doubt" if in_doubt else "failed"] += 1


_courier: Courier | None = None


def deliver_in_worker(chunk: Chunk) -> ChunkResult:
    """Process-pool entry point: one Courier per worker process, kept for all its batches."""
    global _courier
    if _courier is None:
        _courier = Courier(chunk.settings)
        multiprocessing.util.Finalize(None, _courier.close, exitpriority=10)
    return _courier.deliver(chunk)


def chunked(ids: Sequence[int], workers: int) -> list[tuple[int, ...]]:
    """Batches small enough to spread over the workers, large enough to load data in few queries."""
    size = max(1, min(MAX_CHUNK, math.ceil(len(ids) / max(workers * 4, 1))))
    return [tuple(ids[i : i + size]) for i in range(0, len(ids), size)]


def deliver(
    settings: Settings,
    store: Store,
    sub: Subscription,
    *,
    run_id: str,
    now: dt.datetime,
    workers: int | None = None,
    on_start: Callable[[int], None] | None = None,
    on_progress: Progress | None = None,
    email: str | None = None,
) -> Counter[str]:
    """Send every claimable statement of the subscription (or of its recipient `email`); returns outcome counts."""
    ledger.skip_unsubscribed(store, sub.id, run_id)
    ids = ledger.claimable_ids(store, sub.id, now, email=email)
    if on_start:
        on_start(len(ids))
    workers = max(1, workers or settings.reports_workers)
    chunks = [Chunk(settings, sub.kind, ids_, run_id, now, sub.attachments) for ids_ in chunked(ids, workers)]
    totals: Counter[str] = Counter()
    if workers == 1 or len(chunks) <= 1:
        courier = Courier(settings)
        try:
            for chunk in chunks:
                totals.update(courier.deliver(chunk).outcomes)
                if on_progress:
                    on_progress(len(chunk.ids))
        finally:
            courier.close()
        return totals
    # spawn: a clean interpreter per worker (no inherited engines, sockets or threads of this process).
    with ProcessPoolExecutor(
        max_workers=min(workers, len(chunks)), mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        futures = {pool.submit(deliver_in_worker, chunk): chunk for chunk in chunks}
        for future in as_completed(futures):
            totals.update(future.result().outcomes)
            if on_progress:
                on_progress(len(futures[future].ids))
    return totals


# -- runs ----------------------------------------------------------------------------------------------
@dataclass
class RunReport:
    subscription: str
    run_id: str
    plan: PlanResult | None
    outcomes: Counter[str]
    states: dict[str, int]  # ledger rows this run planned or tried, by state
    failures: list[tuple[str, str, str]]  # (email, period, error) of rows this run left failed or in doubt

    @property
    def ok(self) -> bool:
        return not self.failures


def run_outcome(store: Store, sub: Subscription, run_id: str) -> tuple[dict[str, int], list[tuple[str, str, str]]]:
    with store.read() as session:
        counts = ledger.state_counts(session, subscription_id=sub.id, run_id=run_id)
        failed = session.execute(
            select(ReportDelivery.email, ReportDelivery.period, ReportDelivery.last_error)
            .where(
                ReportDelivery.subscription_id == sub.id,
                ReportDelivery.run_id == run_id,
                ReportDelivery.state.in_(("failed", "in_doubt")),
            )
            .order_by(ReportDelivery.id)
        ).all()
    states: Counter[str] = Counter()
    for (_, _, state), n in counts.items():
        states[state] += n
    return dict(states), [(r.email, r.period, r.last_error or "") for r in failed]


def run_subscription(
    settings: Settings,
    sub: Subscription,
    *,
    period: str | None = None,
    fire_at: dt.datetime | None = None,
    plan: bool = True,
    run_id: str | None = None,
    now: dt.datetime | None = None,
    workers: int | None = None,
    on_start: Callable[[int], None] | None = None,
    on_progress: Progress | None = None,
    email: str | None = None,
) -> RunReport:
    """Plan (unless `plan` is False: retries only) and deliver one subscription, or only to its recipient `email`."""
    run_id = run_id or new_run_id("cli")
    now = now or utcnow()
    store = Store(settings=settings)
    try:
        ledger.expire_claims(store, now)
        planned = None
        if plan:
            planned = plan_subscription(settings, store, sub, period=period, fire_at=fire_at, run_id=run_id, now=now,
                                        email=email)  # fmt: skip
        outcomes = deliver(settings, store, sub, run_id=run_id, now=now, workers=workers, on_start=on_start,
                           on_progress=on_progress, email=email)  # fmt: skip
        states, failures = run_outcome(store, sub, run_id)
    finally:
        store.dispose()
    return RunReport(sub.name, run_id, planned, outcomes, states, failures)


@dataclass(frozen=True)
class Job:
    """One subscription to run now: plan its fire time (if scheduled) and send what is claimable."""

    subscription_id: int
    name: str
    fire_at: str | None  # ISO-8601; None = only retries are due

    def as_dict(self) -> dict[str, Any]:
        return {"subscription_id": self.subscription_id, "name": self.name, "fire_at": self.fire_at}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        return cls(int(data["subscription_id"]), str(data["name"]), data.get("fire_at"))


def due_jobs(store: Store, now: dt.datetime) -> list[Job]:
    """Enabled subscriptions whose schedule fired since they were last planned, or with retries due."""
    with store.read() as session:
        retrying = set(session.scalars(select(ReportDelivery.subscription_id).where(ledger.claimable(now)).distinct()))
    jobs = []
    for sub in live_subscriptions(store):
        if not sub.enabled:
            continue
        fire = schedule.due_fire(
            sub.cron, sub.time_zone, last_fired_at=sub.last_fired_at, created_at=sub.created_at, now=now
        )
        if fire is not None or sub.id in retrying:
            jobs.append(Job(sub.id, sub.name, fire.isoformat() if fire else None))
    return jobs


def run_job(
    settings: Settings,
    job: Job,
    *,
    run_id: str,
    now: dt.datetime | None = None,
    workers: int | None = None,
    on_start: Callable[[int], None] | None = None,
    on_progress: Progress | None = None,
) -> RunReport:
    store = Store(settings=settings)
    try:
        sub = find_subscription(store, job.subscription_id)
    finally:
        store.dispose()
    fire_at = dt.datetime.fromisoformat(job.fire_at) if job.fire_at else None
    return run_subscription(settings, sub, fire_at=fire_at, plan=fire_at is not None, run_id=run_id, now=now,
                            workers=workers, on_start=on_start, on_progress=on_progress)  # fmt: skip
