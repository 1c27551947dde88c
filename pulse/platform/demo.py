"""`pulse demo`: the platform on embedded defaults, with simulated data flowing end to end.

Steps: start the warehouse, the operational API and the SMTP sink; migrate the store and simulate a year of
history (once); run the `pulse_elt` DAG end to end (extract, feeds, dbt per model, freshness,
reconciliation); serve the dbt docs; send every default subscription's statements; set up Superset with the
dashboards; start Airflow's scheduler and UI; print every URL and login; then post live traffic through the
API until Ctrl-C, which stops every service (`--no-live` leaves them running for `pulse down`).
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from rich.panel import Panel
from sqlalchemy import func, select

from pulse.airflow import runtime as airflow_runtime
from pulse.core import processes
from pulse.core.console import PulseError, console
from pulse.core.processes import pulse_command, pulse_env
from pulse.core.settings import READER_USER, Settings, get_settings
from pulse.dbt import docs as dbt_docs
from pulse.platform import lineup
from pulse.platform.branches import Board, Branch, check_all, run_captured
from pulse.portal import cli as portal_cli
from pulse.superset import runtime as superset_runtime
from reports import sink as mail_sink
from reports.defaults import DEFAULT_SUBSCRIPTIONS

# The statements are mail: they render with the CPU the services' start-up leaves them (every run niced).
STATEMENTS_NICENESS = 10


def _step(title: str, branches: list[Branch[Any]] | None = None) -> None:
    check_all(branches or [])  # a branch that failed stops the demo here
    console.rule(f"[bold]{title}", align="left")


def store_is_empty(settings: Settings) -> bool:
    from operational_api.db import Store
    from operational_api.models import Hospital

    store = Store(settings=settings)
    try:
        with store.read() as session:
            return not session.scalar(select(func.count()).select_from(Hospital))
    finally:
        store.dispose()


def run(*, live_seconds: float | None = None, live: bool = True) -> None:
    """The whole demo; Ctrl-C (or SIGTERM) at any point stops every service it started."""
    settings = get_settings()
    _stop_on_signals()
    try:
        statements, sent = set_up(settings)
        if not live:
            _wait(statements, "the statements", sent)
    except KeyboardInterrupt:
        console.print("\nCtrl-C: stopping the platform")
        lineup.stop_all(settings)
        return
    if live:
        keep_traffic_flowing(settings, seconds=live_seconds, check=statements.check)


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt, which stops the lineup. Set explicitly: a demo started as a
    background job of a non-interactive shell inherits SIGINT ignored, and Python would keep ignoring it."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)


def set_up(settings: Settings) -> tuple[Branch[None], Callable[[], str]]:
    """The demo's steps, up to every service healthy; returns the statements, which may still be running, and
    how many have been sent so far. What does not need the data runs beside the main line (pulse/platform/branches.py):
    Superset's metadata database and server, and Airflow's metadata database and dbt parse, start at once; once
    the DAG has built the marts, the dbt docs, Airflow's scheduler and UI, the statements and Superset's
    import run side by side. The history comes from the cache when it holds exactly this one (simulator.cache)."""
    import time

    started = time.monotonic()
    board = Board()
    superset_up = Branch("Superset's start-up (metadata database, server)", lambda: _start_superset(settings, board),
                         board, timeout=900)  # fmt: skip
    airflow_ready = Branch("Airflow's metadata database and dbt parse", lambda: _prepare_airflow(settings, board),
                           board, timeout=900)  # fmt: skip
    branches: list[Branch[Any]] = [superset_up, airflow_ready]
    _step("1. services", branches)
    console.print("[dim]beside them: Superset's metadata database and server, Airflow's metadata database[/dim]")
    with board.child_output():
        lineup.bring_up(settings, airflow=False, alerts=False)  # alerts once the history is written (it takes ids)
    _step("2. operational data", branches)
    if store_is_empty(settings):
        days, scale, profile = settings.demo_days, settings.demo_scale, settings.demo_profile
        console.print(f"simulating the {profile} business: {days} days at scale {scale} "
                      "(PULSE_DEMO_PROFILE, PULSE_DEMO_DAYS, PULSE_DEMO_SCALE)")  # fmt: skip
        command = ["simulate", "--history", "--days", str(days), "--scale", str(scale), "--profile", profile]
        if settings.demo_mixed_currencies:
            command.append("--mixed-currencies")
        cache = history_cache_dir(settings)
        if cache is not None:
            command += ["--cache-dir", str(cache)]
        with board.child_output():
            lineup.run_pulse(pulse_command(*command), settings, "simulation")
    else:
        check_demo_profile(settings)
        console.print("the operational store already has data: keeping it")
    lineup.start_alerts(settings)
    _step("3. the pulse_elt DAG, end to end (extract-load, dbt build of what changed, freshness, reconciliation)",
          branches)  # fmt: skip
    _wait(airflow_ready, "Airflow's metadata database and dbt parse")
    with board.child_output():
        airflow_runtime.airflow(["dags", "test", "pulse_elt"], settings)
        lineup.run_pulse(pulse_command("extract", "reconcile"), settings, "reconciliation")
    _step("4. dbt docs and Airflow's scheduler and UI (beside the next steps)", branches)
    dbt_docs.reuse_parse(settings)  # now, while no dbt run writes the file (Airflow's scheduler starts next)
    docs = Branch("the dbt docs", lambda: _serve_docs(settings, board), board, timeout=600)
    airflow_up = Branch("Airflow's scheduler and UI", lambda: _start_airflow(settings, board), board,
                        timeout=900)  # fmt: skip
    branches += [docs, airflow_up]
    _step("5. statements: every hospital, customer, counterparty, sales rep and the executives get their own PDF",
          branches)  # fmt: skip
    with board.child_output():
        lineup.run_pulse(pulse_command("reports", "seed-defaults"), settings, "creating the default subscriptions")
    sent = _statements_sent(settings)
    statements = Branch("the statements", lambda: _send_statements(settings, board), board, timeout=1800)
    branches.append(statements)
    with console.status("creating the portal's demo sign-ins..."):
        portal_logins = portal_cli.demo_logins(settings)
    _step("6. Superset: dashboards, roles and row-level security as code (beside the statements)", branches)
    _wait(superset_up, "Superset's start-up")
    with console.status("importing superset_assets/ into Superset..."):
        logins = superset_runtime.import_demo_assets(settings)
    console.print("[green]✓[/green] Superset: dashboards, roles, row-level security and demo users imported")
    _step("7. Airflow scheduler and UI and the dbt docs (running beside)", branches)
    _wait(docs, "the dbt docs")
    _wait(airflow_up, "Airflow's scheduler and UI")
    _step("8. alerts: a doctor mistypes a PIN five times at a machine", branches)
    demonstrate_alert(settings)
    print_urls(settings, logins, portal_logins)
    console.print(f"[bold green]every service is healthy[/bold green], {time.monotonic() - started:.0f} s after the "
                  "demo started")  # fmt: skip
    if not statements.done:
        # The statements are mail, not a service: the dashboards, portal and Airflow are usable while they render.
        console.print(f"the statements are still rendering ({sent()}); each run's summary is printed as it ends")
    return statements, sent


def history_cache_dir(settings: Settings) -> Path | None:
    """Where the demo keeps simulated histories ($XDG_CACHE_HOME/pulse/histories); None when the store is not the
    embedded SQLite file (the cache copies SQLite stores only)."""
    from simulator.cache import default_cache_dir

    return None if settings.ops_database_url else default_cache_dir()


def _wait(branch: Branch[Any], what: str, progress: Callable[[], str] | None = None) -> None:
    """Wait for the branch (its failure raised here) under a spinner, with `progress()` refreshed every second."""
    import time

    if not branch.done:
        with console.status(f"waiting for {what}...") as status:
            while not branch.done and time.monotonic() - branch.started < branch.timeout:
                time.sleep(1.0)
                if progress is not None:
                    status.update(f"waiting for {what}: {progress()}")
    branch.wait()


def _statements_sent(settings: Settings) -> Callable[[], str]:
    outbox = mail_sink.outbox_dir(settings)
    before = len(mail_sink.outbox_files(outbox)) if outbox.exists() else 0
    return lambda: f"{len(mail_sink.outbox_files(outbox)) - before:,} emails in the outbox so far"


def _start_superset(settings: Settings, board: Board) -> None:
    superset_runtime.init(settings)
    pid = superset_runtime.start(settings)
    board.say(f"[green]✓[/green] Superset metadata database ready and server started (pid {pid}): "
              f"{superset_runtime.base_url(settings)}")  # fmt: skip


def _prepare_airflow(settings: Settings, board: Board) -> None:
    import sys

    from pulse.dbt.runner import PROJECT_DIR, dbt_env, dbt_executable

    airflow_runtime.airflow_home(settings).mkdir(parents=True, exist_ok=True)
    env = airflow_runtime.airflow_env(settings)
    run_captured([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], env, "airflow db migrate")
    run_captured([dbt_executable(), "parse", "--quiet"], dbt_env(settings), "dbt parse", cwd=str(PROJECT_DIR))
    board.say("[green]✓[/green] Airflow metadata database migrated, dbt project parsed")


def _serve_docs(settings: Settings, board: Board) -> None:
    from pulse.dbt.runner import PROJECT_DIR, dbt_env, dbt_executable

    run_captured([dbt_executable(), *dbt_docs.generate_args(settings)], dbt_env(settings), "dbt docs generate",
                 cwd=str(PROJECT_DIR))  # fmt: skip
    pid = processes.start(dbt_docs.service(settings), settings)
    board.say(f"[green]✓[/green] dbt docs generated and served (pid {pid}): {dbt_docs.url(settings)}")


def _start_airflow(settings: Settings, board: Board) -> None:
    pid = processes.start(lineup.airflow_service(settings, demo=True), settings)
    board.say(f"[green]✓[/green] Airflow scheduler and UI (pid {pid}): http://127.0.0.1:{settings.airflow_port}")


def _send_statements(settings: Settings, board: Board) -> None:
    """Every default subscription's run, side by side (each its own process; the customer statements are most
    of the work), each one's summary printed when it ends."""

    def report_run(name: str) -> Callable[[], str]:
        return lambda: run_captured(pulse_command("reports", "run", name), pulse_env(settings), f"report run {name}",
                                    nice=STATEMENTS_NICENESS)  # fmt: skip

    runs = {
        s["name"]: Branch(f"report run {s['name']}", report_run(s["name"]), board, timeout=1800)
        for s in DEFAULT_SUBSCRIPTIONS
    }
    for name, run in runs.items():
        output = run.wait()
        summary = [line for line in output.splitlines() if line.strip() and "━" not in line]
        board.say(f"[green]✓[/green] {name} ({run.seconds or 0:.0f} s): " + "; ".join(summary[-2:]))
    board.say("[green]✓[/green] every statement run has ended")


def demonstrate_alert(settings: Settings, timeout: float = 120.0) -> None:
    """Five wrong PINs through the API lock a customer; the alerts service emails the owner. Prints how long the
    email took to land in the outbox, then unlocks the account (the resolution notice follows)."""
    import time

    import httpx

    from operational_api.db import Store
    from reports.sink import outbox_files
    from simulator.live_world import load_world, revoke_keys
    from simulator.rng import wrong_pin

    store = Store(settings=settings)
    world = load_world(store, settings, customers=50)
    try:
        customer = world.customers[-1]  # the PIN is checked before price or funds: any account can be locked
        seen = set(outbox_files(mail_sink.outbox_dir(settings)))
        with httpx.Client(base_url=world.base_url, timeout=30) as client:
            machine = {"Authorization": f"Bearer {world.keys['machine']}"}
            body = {"machine_serial": world.machines[0], "client_id": customer.client_id,
                    "pin": wrong_pin(customer.pin), "sku": next(iter(world.products)), "quantity": 1}  # fmt: skip
            for _ in range(5):
                client.post("/v1/vend-authorisations", json=body, headers=machine).raise_for_status()
            locked = time.monotonic()
            email = _wait_for_alert_email(settings, seen, customer.client_id, timeout)
            if email is None:
                console.print(f"[red]no alert email for {customer.client_id} within {timeout:g} s[/red]: "
                              f"see {settings.home / 'run' / 'alerts.log'}")  # fmt: skip
                return
            path, subject = email
            console.print(f"[green]✓[/green] alert email in the outbox {time.monotonic() - locked:.1f} s after the "
                          f"lockout (evaluated every {settings.alerts_interval_seconds:g} s): {subject}\n  {path}")  # fmt: skip
            client.post(f"/v1/customers/{customer.id}/unlock",
                        headers={"Authorization": f"Bearer {world.keys['operator']}"}).raise_for_status()  # fmt: skip
            console.print(f"  unlocked {customer.client_id} by the operator: the resolution notice follows; "
                          "`pulse alerts log` lists the alerts")  # fmt: skip
    finally:
        revoke_keys(store, world.key_ids)
        store.dispose()


def _wait_for_alert_email(
    settings: Settings, seen: set[Path], client_id: str, timeout: float
) -> tuple[Path, str] | None:
    import time

    from reports.sink import outbox_files, read_message

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in outbox_files(mail_sink.outbox_dir(settings)):
            if path in seen:
                continue
            seen.add(path)
            message = read_message(path)
            if message["X-Pulse-Alert"] and client_id in str(message["Subject"]):
                return path, str(message["Subject"])
        time.sleep(0.2)
    return None


def keep_traffic_flowing(
    settings: Settings, *, seconds: float | None, minute: float = 60.0, check: Callable[[], None] | None = None
) -> None:
    """Post live traffic through the API (machines, portal, operators) until Ctrl-C or `seconds`, one line
    per minute, then stop every service: dashboards move as the scheduled ELT picks the new rows up. `check`
    runs every minute (it raises if work still running beside, the statements, has failed)."""
    import asyncio
    import time

    from operational_api.db import Store
    from simulator.live import LiveConfig, drive
    from simulator.live_world import load_world, revoke_keys

    store = Store(settings=settings)
    world = load_world(store, settings, customers=200)
    started = time.monotonic()
    sent = stored = 0
    console.print("[bold]live traffic[/bold] is flowing through the API; [bold]Ctrl-C[/bold] stops everything")
    try:
        while seconds is None or seconds - (time.monotonic() - started) >= 1.0:
            chunk = minute if seconds is None else min(minute, seconds - (time.monotonic() - started))
            report = asyncio.run(drive(world, LiveConfig(duration=chunk, rate=5.0, machines=6, customers=200)))
            sent, stored = sent + report.total, stored + report.vends_created
            console.print(f"{time.strftime('%H:%M:%S')}  {report.total} requests, {report.vends_created} vends "
                          f"stored (since start: {sent:,} requests, {stored:,} vends)")  # fmt: skip
            if check is not None:
                check()
    except KeyboardInterrupt:
        console.print("\nCtrl-C: stopping the platform")
    finally:
        revoke_keys(store, world.key_ids)
        store.dispose()
        lineup.stop_all(settings)


def print_urls(
    settings: Settings,
    superset: superset_runtime.Logins | None = None,
    portal: list[tuple[str, str, str]] | None = None,
) -> None:
    host, port = settings.clickhouse_host, settings.clickhouse_port
    lines = [
        f"warehouse (ClickHouse HTTP)  http://{host}:{port}   admin `default`, password in "
        f"{settings.secrets_dir / 'warehouse_default_password'}",
        f"  read-only user             {READER_USER}, password in {settings.secrets_dir / 'warehouse_reader_password'}",
        f"  try                        echo 'SELECT count() FROM marts.dim_hospitals' | curl -u {READER_USER}:\"$(cat "
        f"{settings.secrets_dir / 'warehouse_reader_password'})\" 'http://{host}:{port}/' --data-binary @-",
        f"operational API              http://{settings.api_host}:{settings.api_port}/docs   (keys: pulse api create-key)",
    ]
    lines.append(
        f"report portal                {portal_cli.portal_url(settings)}   (subscriptions, previews, send now)"
    )
    lines += [f"  {email} ({role}) password in {where}" for role, email, where in portal or []]
    lines.append(
        f"Airflow                      http://127.0.0.1:{settings.airflow_port}   "
        f"(admin, password in {settings.secrets_dir / 'airflow_admin_password'})"
    )
    if superset is not None:
        lines += superset.lines()
    lines += [
        f"dbt docs                     {dbt_docs.url(settings)}",
        "metrics                      pulse metrics list | pulse metrics query effective_commission_rate --by "
        "hospital_name",
        f"statements (SMTP outbox)     pulse reports outbox   ({mail_sink.outbox_dir(settings)})",
        "reports                      pulse reports list | pulse reports deliveries",
        "status / stop                pulse status | pulse down",
    ]
    console.print(Panel("\n".join(lines), title="Pulse is running"))


def check_demo_profile(settings: Settings) -> None:
    """A PULSE_HOME holds one simulated business: demoing another over it would mix the two."""
    import json

    from simulator.history import world_file

    path = world_file(settings)
    held = json.loads(path.read_text()).get("profile", "ru-clinics") if path.exists() else settings.demo_profile
    if held != settings.demo_profile:
        raise PulseError(
            f"{settings.home} holds the simulated {held} business, and PULSE_DEMO_PROFILE is {settings.demo_profile}",
            hint=f"use a fresh PULSE_HOME for {settings.demo_profile} (e.g. PULSE_HOME=.pulse-{settings.demo_profile}), "
            f"or PULSE_DEMO_PROFILE={held}",
        )
