"""pulse_reports (every 15 minutes): find due report subscriptions -> deliver each one (a mapped task per
subscription; rendering runs in a process pool inside it; failures worth it are retried with backoff) ->
summary (fails the run when a recipient ultimately did not get their statement)."""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from pulse.airflow import elt_tasks, report_tasks


@dag(
    dag_id="pulse_reports",
    schedule="*/15 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=elt_tasks.retry_args(),
    tags=["pulse", "reports"],
    doc_md=__doc__,
)
def pulse_reports() -> None:
    jobs = task(task_id="find_due")(report_tasks.find_due_jobs)()
    delivered = task(task_id="deliver", map_index_template="{{ job_label }}")(report_tasks.deliver_job).expand(job=jobs)
    summary = task(task_id="summary", trigger_rule="all_done", retries=0)(report_tasks.summarize_run)
    summary(jobs, delivered)  # type: ignore[arg-type]  # XComArgs: resolved to the lists when the task runs


pulse_reports()
