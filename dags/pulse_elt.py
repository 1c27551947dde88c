"""pulse_elt (hourly; PULSE_ELT_SCHEDULE): extract source groups and feeds in parallel -> dbt build of what changed
(`DbtSession.build_changed`, one log line per model and test) -> source freshness -> reconcile; beside freshness, the
metric alert rules on the marts just built."""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from extractors.load import source_groups
from pulse.airflow import elt_tasks
from pulse.core.settings import get_settings


@dag(
    dag_id="pulse_elt",
    schedule=get_settings().elt_schedule,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=elt_tasks.retry_args(),
    tags=["pulse", "elt"],
    doc_md=__doc__,
)
def pulse_elt() -> None:
    extracts = [task(task_id=f"extract_{group}")(elt_tasks.extract_group)(group) for group in sorted(source_groups())]
    feeds = task(task_id="load_feeds")(elt_tasks.load_landing_feeds)()
    dbt = task(task_id="dbt_build")(elt_tasks.dbt_build)()
    freshness = task(task_id="dbt_source_freshness")(elt_tasks.dbt_source_freshness)()
    reconcile = task(task_id="reconcile")(elt_tasks.reconcile_layers)()
    alerts = task(task_id="metric_alerts")(elt_tasks.metric_alerts)()
    [*extracts, feeds] >> dbt >> freshness >> reconcile
    dbt >> alerts


pulse_elt()
