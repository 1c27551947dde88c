"""What the `pulse_reports` DAG runs: find due subscriptions, deliver each (one mapped task per
subscription, rendering in a process pool inside it), then a summary that fails the run when any
recipient ultimately failed.

Settings come from Airflow connections like the other DAGs (`pulse_warehouse`, `pulse_ops`); SMTP from
the optional `pulse_smtp` connection (host, port, login, password; extra `tls`: none/starttls/ssl and
`from`), else from PULSE_SMTP_* as everywhere else.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from operational_api.db import Store
from operational_api.models import ReportDelivery, ReportSubscription, utcnow
from pulse.core.settings import Settings

log = logging.getLogger("pulse.reports")
SMTP_CONN = "pulse_smtp"
SHOWN_FAILURES = 20


class DeliveriesToRetry(RuntimeError):
    """Some recipients failed for a reason that may pass: the task fails so that Airflow retries it later."""


class RecipientsFailed(RuntimeError):
    """The run ended with recipients that did not get their statement."""


def reports_settings() -> Settings:
    """Warehouse and store from the Airflow connections; SMTP from `pulse_smtp` when it is defined."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.sdk import BaseHook

    from pulse.airflow.elt_tasks import settings_from_connections

    settings = settings_from_connections()
    try:
        smtp = BaseHook.get_connection(SMTP_CONN)
    except AirflowNotFoundException:
        return settings
    extra = smtp.extra_dejson
    update: dict[str, Any] = {"smtp_host": smtp.host or settings.smtp_host, "smtp_port": smtp.port or 25}
    if smtp.login:
        update.update(smtp_user=smtp.login, smtp_password=smtp.password or "")
    if "tls" in extra:
        update["smtp_tls"] = extra["tls"]
    if "from" in extra:
        update["smtp_from"] = extra["from"]
    return Settings(**{**settings.model_dump(exclude_unset=True), **update})


def _context() -> Any:
    from airflow.sdk import get_current_context

    return get_current_context()


def find_due_jobs() -> list[dict[str, Any]]:
    """Subscriptions to run in this DAG run (schedule fired, or retries due)."""
    from reports.delivery import due_jobs

    store = Store(settings=reports_settings())
    try:
        jobs = due_jobs(store, utcnow())
    finally:
        store.dispose()
    for job in jobs:
        log.info("due: %s (%s)", job.name, f"fired {job.fire_at}" if job.fire_at else "retries")
    return [job.as_dict() for job in jobs]


def _retries_pending(store: Store, subscription_id: int, run_id: str) -> int:
    with store.read() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(ReportDelivery)
                .where(
                    ReportDelivery.subscription_id == subscription_id,
                    ReportDelivery.run_id == run_id,
                    ReportDelivery.state == "failed",
                    ReportDelivery.next_attempt_at.is_not(None),
                )
            )
            or 0
        )


def deliver_job(job: dict[str, Any]) -> dict[str, Any]:
    """One subscription: plan (if its schedule fired) and send; raises when failures are worth a retry."""
    from reports.delivery import Job, run_job

    context = _context()
    context["job_label"] = job["name"]  # the mapped task's label in the UI (map_index_template)
    settings = reports_settings()
    report = run_job(settings, Job.from_dict(job), run_id=context["run_id"])
    if report.plan is not None:
        log.info("%s: period %s, %d recipient rows, %d new in the ledger", report.subscription,
                 report.plan.periods, report.plan.recipients, report.plan.added)  # fmt: skip
    log.info("%s: %s", report.subscription, dict(report.states))
    for email, period, error in report.failures[:SHOWN_FAILURES]:
        log.warning("%s %s: %s", email, period, error)
    store = Store(settings=settings)
    try:
        pending = _retries_pending(store, job["subscription_id"], context["run_id"])
    finally:
        store.dispose()
    if pending:
        raise DeliveriesToRetry(f"{pending} deliveries of {job['name']} failed and are retried with backoff")
    return {"name": job["name"], "states": dict(report.states), "failed": len(report.failures)}


def summarize_run(jobs: Sequence[dict[str, Any]], results: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Ledger rows this run planned or tried, by state; fails the run if a recipient or a task failed."""
    run_id = _context()["run_id"]
    # Only the deliver tasks that succeeded pushed a result (by index: iterating would log a miss as an error).
    finished = {results[i]["name"] for i in range(len(results))}
    unfinished = sorted({j["name"] for j in jobs} - finished)
    store = Store(settings=reports_settings())
    try:
        with store.read() as session:
            counts = dict(
                session.execute(
                    select(ReportDelivery.state, func.count())
                    .where(ReportDelivery.run_id == run_id)
                    .group_by(ReportDelivery.state)
                ).all()
            )
            failed = session.execute(
                select(ReportSubscription.name, ReportDelivery.email, ReportDelivery.period, ReportDelivery.last_error)
                .join(ReportSubscription, ReportSubscription.id == ReportDelivery.subscription_id)
                .where(ReportDelivery.run_id == run_id, ReportDelivery.state.in_(("failed", "in_doubt", "sending")))
                .order_by(ReportDelivery.id)
            ).all()
    finally:
        store.dispose()
    states = Counter({str(state): int(n) for state, n in counts.items()})
    log.info("run %s: %s", run_id, dict(states))
    for name, email, period, error in failed[:SHOWN_FAILURES]:
        log.error("%s: %s %s: %s", name, email, period, error)
    problems = []
    if unfinished:
        problems.append(f"subscriptions whose delivery task failed: {', '.join(unfinished)}")
    if failed:
        problems.append(f"{len(failed)} recipients did not get their statement (see the log above)")
    if problems:
        raise RecipientsFailed("; ".join(problems))
    return dict(states)
