"""pulse_maintenance (nightly): merge raw row versions, run every dbt test over all rows, report quarantined
feed rows, clean old logs."""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from pulse.airflow import elt_tasks


@dag(
    dag_id="pulse_maintenance",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=elt_tasks.retry_args(),
    tags=["pulse", "maintenance"],
    doc_md=__doc__,
)
def pulse_maintenance() -> None:
    optimize = task(task_id="optimize_raw")(elt_tasks.optimize_raw)()
    full_tests = task(task_id="dbt_full_tests")(elt_tasks.dbt_full_tests)()
    report = task(task_id="quarantine_report")(elt_tasks.quarantine_report)()
    clean = task(task_id="cleanup")(elt_tasks.cleanup)()
    optimize >> full_tests >> report >> clean


pulse_maintenance()
