"""Running dbt on the project in `dbt_project/`, connected to the warehouse from Pulse's settings.

Two ways: `run_dbt` runs the dbt CLI in a child process (what `pulse dbt ...` does), and `DbtSession` runs dbt in
this process, parsing the project once and reusing the parsed manifest for every build after that, so a frequent
build pays neither interpreter and dbt start-up nor parsing. `DbtSession.build_changed()` is the hourly build:
only the nodes downstream of raw tables that received rows since the last successful build (and the models that
depend on the date, when it changed), with windowed tests (macros/test_windows.sql), without unit tests and the
tests that rescan whole tables (tag `full_scan`) or that a fact repeats on the same rows (tag `checked_on_fact`):
full builds and the nightly `pulse_maintenance` run run them.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pulse.core.console import PulseError
from pulse.core.paths import DBT_PROJECT_DIR
from pulse.core.settings import Settings, get_settings
from warehouse.ddl import WarehouseDDL

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client
    from dbt.contracts.graph.manifest import Manifest
    from dbt_common.events.base_types import EventMsg

PROJECT_DIR = DBT_PROJECT_DIR

# Where the build planner keeps what the last successful build covered (dbt's own target schema, like the
# windowed tests' marks): one row per raw table (its max _loaded_at), plus the date and the project's fingerprint.
BUILD_MARKS_TABLE = "analytics.pulse_build_marks"
CLOCK_KEY = "~clock"
PROJECT_KEY = "~project"
# What the hourly build leaves out: views (a view is a stored query: its data needs no build, and a project change
# makes the next build a whole-project one, which re-creates changed views), unit tests, whole-table tests and
# staging tests a fact repeats on the same rows (tag checked_on_fact); full builds and the nightly test run have
# them all. `--indirect-selection empty` keeps the tests of the views left out: they are selected as descendants of
# the changed raw tables like every other test.
HOURLY_EXCLUSIONS = [
    "--exclude", "config.materialized:view", "tag:full_scan", "tag:checked_on_fact",
    "--exclude-resource-type", "unit_test",
    "--indirect-selection", "empty",
    # list only the schemas of the selected nodes at start (other relations are looked up when first needed)
    "--cache-selected-only",
]  # fmt: skip


SELECTION_FLAGS = {
    "--select",
    "-s",
    "--models",
    "-m",
    "--exclude",
    "--selector",
    "--resource-type",
    "--exclude-resource-type",
}


def dbt_env(settings: Settings | None = None) -> dict[str, str]:
    """Environment for dbt: connection from PULSE_CLICKHOUSE_URL, artifacts and logs under PULSE_HOME."""
    settings = settings or get_settings()
    return {
        **os.environ,
        "PULSE_DBT_HOST": settings.clickhouse_host,
        "PULSE_DBT_PORT": str(settings.clickhouse_port),
        "PULSE_DBT_USER": settings.clickhouse_user,
        "PULSE_DBT_PASSWORD": settings.clickhouse_password,
        "PULSE_DBT_SECURE": str(settings.clickhouse_url.startswith("https")),
        # profiles.yml and macros/cluster.sql read the setting itself (so does dbt in an Airflow task, from the
        # environment); set here too, in case it came from a .env file only pydantic reads.
        "PULSE_CLICKHOUSE_CLUSTER": settings.clickhouse_cluster or "",
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
        "DBT_PROJECT_DIR": str(PROJECT_DIR),
        "DBT_TARGET_PATH": str(settings.home / "dbt" / "target"),
        "DBT_LOG_PATH": str(settings.home / "dbt" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **settings.business.dbt_vars(),
    }


def dbt_executable() -> str:
    return str(Path(sys.executable).parent / "dbt")


def run_dbt(args: list[str], settings: Settings | None = None) -> int:
    """Run `dbt <args>` in a child process; returns its exit code (output goes to the terminal)."""
    return subprocess.call([dbt_executable(), *args], env=dbt_env(settings), cwd=PROJECT_DIR)


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """os.environ as `values` for the duration (dbt reads its flags and the profile's env_var() from it)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})  # dbt's run and test statuses that mean failure


def failed_nodes(results: list[Any]) -> list[str]:
    """The unique ids of the nodes of a dbt invocation's results that failed."""
    return [r.node.unique_id for r in results if str(r.status) in FAILED_STATUSES]


@dataclass(frozen=True)
class BuildPlan:
    """What an incremental build must do. `select` None: everything (no marks yet, or the project changed);
    empty: nothing changed."""

    select: list[str] | None
    reason: str
    marks: dict[str, str] = field(default_factory=dict)

    @property
    def args(self) -> list[str]:
        if self.select is None:
            return ["build"]
        return ["build", "--select", *self.select, *HOURLY_EXCLUSIONS]


@dataclass(frozen=True)
class BuildOutcome:
    plan: BuildPlan
    success: bool
    seconds: float
    nodes: int
    failures: list[str]


class DbtSession:
    """dbt in this process: the project is parsed once (partial parsing reuses target/partial_parse.msgpack),
    then every invocation reuses the parsed manifest. One invocation at a time (dbt is not re-entrant).
    `callbacks` receive every dbt event of every invocation, whatever `quiet` keeps off the terminal (the Airflow
    task logs each model's and test's result from them)."""

    def __init__(
        self,
        settings: Settings | None = None,
        quiet: bool = True,
        callbacks: Sequence[Callable[[EventMsg], None]] = (),
    ) -> None:
        self.settings = settings or get_settings()
        self.quiet = quiet
        self.callbacks = list(callbacks)
        self._manifest: Manifest | None = None
        self._target_ready = False
        self._project_fingerprint = ""

    def _flags(self) -> list[str]:
        return ["--quiet"] if self.quiet else []

    @property
    def manifest(self) -> Manifest:
        if self._manifest is None:
            from dbt.cli.main import dbtRunner
            from dbt.contracts.graph.manifest import Manifest

            with _environment(dbt_env(self.settings)):
                parsed = dbtRunner(callbacks=self.callbacks).invoke(["parse", *self._flags()])
            if not parsed.success or not isinstance(parsed.result, Manifest):
                raise PulseError(f"dbt could not parse {PROJECT_DIR}: {parsed.exception}", "run `pulse dbt parse`")
            self._manifest = parsed.result
            self._project_fingerprint = project_fingerprint(parsed.result, self.settings)
            # The parsed project is some 300,000 objects living as long as the session: keep them out of the cyclic
            # collector's full passes, each of which otherwise stops every dbt thread for ~0.2 s in the middle of a
            # build (a tenth of an hourly build).
            gc.collect()
            gc.freeze()
        return self._manifest

    def invoke(self, args: list[str]) -> Any:
        """`dbt <args>` in this process; returns dbt's result (RunExecutionResult for build, run, test)."""
        from dbt.cli.main import dbtRunner

        manifest = self.manifest
        self._ensure_target()
        env = dbt_env(self.settings)
        # dbt.log at info unless DBT_LOG_LEVEL_FILE says otherwise: at debug every SQL statement is written and
        # flushed from the node threads, which then queue for the GIL (~10% of an hourly build). The callbacks
        # (the Airflow task's per-node lines) get every event either way.
        env.setdefault("DBT_LOG_LEVEL_FILE", "info")
        with _environment(env):
            # --no-write-json: the results come back in memory; rewriting manifest.json costs more than a small build.
            outcome = dbtRunner(manifest=manifest, callbacks=self.callbacks).invoke(
                [*args[:1], *self._flags(), "--no-write-json", *args[1:]]
            )
        if outcome.exception is not None:
            raise PulseError(f"dbt {' '.join(args)} failed: {outcome.exception}", "see PULSE_HOME/dbt/logs/dbt.log")
        return outcome

    def build(self, *args: str) -> BuildOutcome:
        """`dbt build <args>` (e.g. `--full-refresh`). Over the whole project it records the marks when it passes;
        a build of a selection records none (what it left out is still to be built)."""
        selective = any(arg.split("=")[0] in SELECTION_FLAGS for arg in args)
        plan = BuildPlan(
            None, "a selection" if selective else "whole project", {} if selective else self._read_tokens()
        )
        return self._run(plan, list(args))

    def build_changed(self) -> BuildOutcome:
        """The incremental build: only what the raw data, the date or the project changed (see BuildPlan)."""
        return self._run(self.plan(), [])

    def plan(self) -> BuildPlan:
        tokens = self._read_tokens()
        self._ensure_target()
        with self._client() as client:
            rows = client.query(f"SELECT key, token FROM {BUILD_MARKS_TABLE} FINAL").result_rows
        marks = {str(key): str(token) for key, token in rows}
        if marks.get(PROJECT_KEY) != tokens[PROJECT_KEY]:
            reason = "first build" if not marks else "the project changed"
            return BuildPlan(None, reason, tokens)
        select = [
            f"source:{self.manifest.sources[uid].source_name}.{self.manifest.sources[uid].name}+"
            for uid in sorted(tokens)
            if uid.startswith("source.") and marks.get(uid) != tokens[uid]
        ]
        if marks.get(CLOCK_KEY) != tokens[CLOCK_KEY]:
            select.append("tag:clock+")
        return BuildPlan(select, f"{len(select)} changed input(s)" if select else "nothing changed", tokens)

    def _run(self, plan: BuildPlan, extra: list[str]) -> BuildOutcome:
        started = time.perf_counter()
        if plan.select == []:
            return BuildOutcome(plan, True, time.perf_counter() - started, 0, [])
        outcome = self.invoke([*plan.args, *extra])
        results = list(getattr(outcome.result, "results", []) or [])
        failures = failed_nodes(results)
        if outcome.success and plan.marks:
            with self._client() as client:
                client.insert(BUILD_MARKS_TABLE, list(plan.marks.items()), column_names=["key", "token"])
        return BuildOutcome(plan, outcome.success, time.perf_counter() - started, len(results), failures)

    def _read_tokens(self) -> dict[str, str]:
        """What the inputs look like now: each raw table's newest load, the date, the project's fingerprint."""
        sources = {
            uid: source.relation_name
            for uid, source in self.manifest.sources.items()
            if source.relation_name and source.source_name == "raw"
        }
        parts = [
            f"SELECT '{uid}' AS key, toString(max(_loaded_at)) AS token FROM {name}" for uid, name in sources.items()
        ]
        # The date in the server's time zone and in the company's (the `clock` models use both).
        company_zone = self.settings.business.time_zone
        parts.append(f"SELECT '{CLOCK_KEY}', concat(toString(today()), '/', toString(toDate(now(), '{company_zone}')))")
        with self._client() as client:
            rows = client.query(" UNION ALL ".join(parts)).result_rows
        tokens = {str(key): str(token) for key, token in rows}
        tokens[PROJECT_KEY] = self._project_fingerprint
        return tokens

    def _ensure_target(self) -> None:
        """dbt's target database (`analytics`) and the build marks table in it, once per session. dbt-clickhouse
        creates the profile's database only once per process (a process-wide cache), so a later session in the same
        process against another, new warehouse (as tests make) would otherwise find it missing."""
        if not self._target_ready:
            with self._client() as client:
                for statement in marks_table_ddl(WarehouseDDL.from_settings(self.settings)):
                    client.command(statement)
            self._target_ready = True

    @contextlib.contextmanager
    def _client(self) -> Iterator[Client]:
        from warehouse.client import connect

        client = connect(self.settings)
        try:
            yield client
        finally:
            client.close()


def marks_table_ddl(ddl: WarehouseDDL) -> list[str]:
    return [
        ddl.create_database("analytics"),
        f"CREATE TABLE IF NOT EXISTS {BUILD_MARKS_TABLE}{ddl.on_cluster} (key String, token String,"
        f" recorded_at DateTime64(6, 'UTC') DEFAULT now64(6)) ENGINE = {ddl.engine('ReplacingMergeTree(recorded_at)')}"
        f" ORDER BY key{ddl.table_settings}",
    ]


def project_fingerprint(manifest: Manifest, settings: Settings) -> str:
    """Hash of everything that shapes what dbt builds: every node's and macro's source, dbt_project.yml and the
    business settings its vars come from (a new reporting currency rebuilds every mart)."""
    digest = hashlib.sha256((PROJECT_DIR / "dbt_project.yml").read_bytes())
    digest.update(repr(sorted(settings.business.dbt_vars().items())).encode())
    for uid in sorted(manifest.nodes):
        digest.update(f"{uid}:{manifest.nodes[uid].checksum.checksum}\n".encode())
    for uid in sorted(manifest.macros):
        digest.update(f"{uid}:{hashlib.sha256(manifest.macros[uid].macro_sql.encode()).hexdigest()}\n".encode())
    return digest.hexdigest()
