"""`pulse demo`: the platform on embedded defaults, with simulated data flowing end to end.

Steps: start the warehouse, the operational API and the SMTP sink; migrate the store and simulate a year of
history (once); run the `pulse_elt` DAG end to end (extract, feeds, dbt per model, freshness,
reconciliation); serve the dbt docs; send every default subscription's statements; set up Superset with the
dashboards; start Airflow's scheduler and UI; print every URL and login; then post live traffic through the
API until Ctrl-C, which stops every service (`--no-live` leaves them running for `pulse down`).
"""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType

from rich.panel import Panel
from sqlalchemy import func, select

from pulse.airflow import runtime as airflow_runtime
from pulse.core.console import PulseError, console
from pulse.core.processes import pulse_command
from pulse.core.settings import READER_USER, Settings, get_settings
from pulse.dbt import docs as dbt_docs
from pulse.platform import lineup
from pulse.portal import cli as portal_cli
from pulse.superset import runtime as superset_runtime
from reports import sink as mail_sink
from reports.defaults import DEFAULT_SUBSCRIPTIONS


def _step(title: str) -> None:
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
        set_up(settings)
    except KeyboardInterrupt:
        console.print("\nCtrl-C: stopping the platform")
        lineup.stop_all(settings)
        return
    if live:
        keep_traffic_flowing(settings, seconds=live_seconds)


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt, which stops the lineup. Set explicitly: a demo started as a
    background job of a non-interactive shell inherits SIGINT ignored, and Python would keep ignoring it."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)


def set_up(settings: Settings) -> None:
    _step("1. services")
    lineup.bring_up(settings, airflow=False, alerts=False)  # alerts once the history is written (it takes ids)
    _step("2. operational data")
    if store_is_empty(settings):
        days, scale, profile = settings.demo_days, settings.demo_scale, settings.demo_profile
        console.print(f"simulating the {profile} business: {days} days at scale {scale} "
                      "(PULSE_DEMO_PROFILE, PULSE_DEMO_DAYS, PULSE_DEMO_SCALE)")  # fmt: skip
        command = ["simulate", "--history", "--days", str(days), "--scale", str(scale), "--profile", profile]
        if settings.demo_mixed_currencies:
            command.append("--mixed-currencies")
        lineup.run_pulse(pulse_command(*command), settings, "simulation")
    else:
        check_demo_profile(settings)
        console.print("the operational store already has data: keeping it")
    lineup.start_alerts(settings)
    _step("3. the pulse_elt DAG, end to end (extract-load, dbt build of what changed, freshness, reconciliation)")
    airflow_runtime.init(settings)
    airflow_runtime.airflow(["dags", "test", "pulse_elt"], settings)
    lineup.run_pulse(pulse_command("extract", "reconcile"), settings, "reconciliation")
    _step("4. dbt docs")
    with console.status("generating and serving the dbt docs..."):
        dbt_docs.start(settings, regenerate=True)
    _step("5. statements: every hospital, customer, counterparty, sales rep and the executives get their own PDF")
    lineup.run_pulse(pulse_command("reports", "seed-defaults"), settings, "creating the default subscriptions")
    for subscription in DEFAULT_SUBSCRIPTIONS:
        lineup.run_pulse(
            pulse_command("reports", "run", subscription["name"]), settings, f"report run {subscription['name']}"
        )
    with console.status("creating the portal's demo sign-ins..."):
        portal_logins = portal_cli.demo_logins(settings)
    _step("6. Superset: dashboards, roles and row-level security as code")
    with console.status("initialising Superset, starting it and importing superset_assets/..."):
        logins = superset_runtime.set_up(settings)
    _step("7. Airflow scheduler and UI")
    lineup.start_airflow(settings, demo=True)
    _step("8. alerts: a doctor mistypes a PIN five times at a machine")
    demonstrate_alert(settings)
    print_urls(settings, logins, portal_logins)


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


def keep_traffic_flowing(settings: Settings, *, seconds: float | None, minute: float = 60.0) -> None:
    """Post live traffic through the API (machines, portal, operators) until Ctrl-C or `seconds`, one line
    per minute, then stop every service: dashboards move as the scheduled ELT picks the new rows up."""
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
