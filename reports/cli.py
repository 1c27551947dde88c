"""`pulse reports ...`: subscriptions, runs, the delivery ledger, the outbox of the embedded SMTP sink."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pulse.core.console import PulseError, console
from pulse.core.settings import get_settings

if TYPE_CHECKING:
    from operational_api.db import Store
    from reports.delivery import RunReport, Subscription

app = typer.Typer(help="PDF reports and data-driven email subscriptions.", no_args_is_help=True)
STATE_COLOURS = {"sent": "green", "failed": "red", "in_doubt": "red", "skipped": "yellow", "pending": "cyan"}


@contextmanager
def _store() -> Iterator[Store]:
    from operational_api.db import Store
    from operational_api.migrate import NotMigrated, check_migrated

    store = Store(settings=get_settings())
    try:
        try:
            check_migrated(store.write_engine)
        except NotMigrated as err:
            raise PulseError(str(err), hint="pulse api migrate") from None
        yield store
    finally:
        store.dispose()


def _local(moment: dt.datetime | None, zone: str) -> str:
    from zoneinfo import ZoneInfo

    return "-" if moment is None else f"{moment.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M %Z}"


@app.command("list")
def list_subscriptions() -> None:
    """Subscriptions with their schedule and next fire time."""
    from operational_api.models import utcnow
    from pulse.core.schedule import next_fire
    from reports.delivery import live_subscriptions

    with _store() as store:
        subs = live_subscriptions(store)
    if not subs:
        console.print("no subscriptions yet: [bold]pulse reports seed-defaults[/bold] creates one per report")
        return
    table = Table("id", "name", "report", "schedule", "enabled", "next fire", "last planned")
    now = utcnow()
    for sub in subs:
        upcoming = next_fire(sub.cron, sub.time_zone, now) if sub.enabled else None
        table.add_row(str(sub.id), sub.name, sub.kind, f"{sub.cron} ({sub.time_zone})",
                      "yes" if sub.enabled else "[yellow]no", _local(upcoming, sub.time_zone),
                      _local(sub.last_fired_at, sub.time_zone))  # fmt: skip
    console.print(table)


@app.command("seed-defaults")
def seed_defaults() -> None:
    """Create the default subscriptions (one per report) that do not exist yet; needs the built marts."""
    from sqlalchemy import select

    from operational_api.models import ReportSubscription
    from operational_api.services.common import ServiceError
    from operational_api.services.reporting import create_subscription
    from reports.defaults import default_subscriptions

    settings = get_settings()
    with _store() as store:
        with store.read() as session:
            existing = set(session.scalars(select(ReportSubscription.name)))
        for values in default_subscriptions(settings):
            if values["name"] in existing:
                console.print(f"{values['name']}: exists, kept as it is")
                continue
            try:
                row = create_subscription(store, settings, {**values, "format": "pdf", "enabled": True})
            except ServiceError as err:
                reasons = "; ".join(reason for _, reason in err.fields)
                raise PulseError(f"{values['name']}: {err.message}{': ' + reasons if reasons else ''}",
                                 hint="build the marts first: pulse dbt build (or run the pulse_elt DAG)") from None  # fmt: skip
            console.print(
                f"[green]created[/green] {row.name} (id {row.id}): {row.report_kind}, {row.cron} {row.time_zone}"
            )


def _print_report(report: RunReport) -> None:
    plan = report.plan
    if plan is not None:
        extra = f", {plan.without_email} rows without an email ignored" if plan.without_email else ""
        console.print(f"{report.subscription}: period {plan.periods}: {plan.recipients} recipient rows, "
                      f"{plan.added} new statements in the ledger{extra}")  # fmt: skip
    states = ", ".join(f"[{STATE_COLOURS.get(s, 'white')}]{n} {s}[/]" for s, n in sorted(report.states.items()))
    console.print(f"run {report.run_id}: {states or 'nothing to do'}")
    if report.failures:
        table = Table("email", "period", "error", title="failed or in doubt", title_justify="left")
        for email, period, error in report.failures[:20]:
            table.add_row(email, period, error)
        console.print(table)
        if len(report.failures) > 20:
            console.print(f"... and {len(report.failures) - 20} more: pulse reports deliveries --state failed")


def _with_progress(name: str, run: Callable[..., RunReport], *args: Any, **kwargs: Any) -> RunReport:
    """Call a run with a progress bar: indeterminate while planning, then statements sent of all."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(f"{name}: planning", total=None)
        return run(
            *args,
            **kwargs,
            on_start=lambda n: progress.update(task, total=n, description=f"{name}: sending"),
            on_progress=lambda n: progress.advance(task, n),
        )


@app.command("run")
def run(
    subscription: Annotated[str, typer.Argument(help="Name or id of the subscription.")],
    period: Annotated[str | None, typer.Option(help="YYYY-MM (YYYY-Www for weekly). Default: the last one.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Run the recipient query; send nothing.")] = False,
    workers: Annotated[int | None, typer.Option(help="Processes. Default: PULSE_REPORTS_WORKERS.")] = None,
    email: Annotated[str | None, typer.Option(help="Only this recipient (send one now).")] = None,
) -> None:
    """Run one subscription now: plan the period's recipients, then render and send what is not sent yet. A past
    period is a backfill; repeating a run never sends a statement twice."""
    from operational_api.services.recipient_queries import RecipientQueryError
    from pulse.core.run_ids import new_run_id
    from reports.delivery import find_subscription, run_subscription
    from warehouse.identities import WarehouseUnavailable

    settings = get_settings()
    with _store() as store:
        sub = find_subscription(store, subscription)
        try:
            if period is not None:
                sub.spec.check_period(period)
            if dry_run:
                _dry_run(store, sub, period)
                return
            report = _with_progress(sub.name, run_subscription, settings, sub, period=period, run_id=new_run_id("cli"),
                                    workers=workers, email=email)  # fmt: skip
        except RecipientQueryError as err:
            raise PulseError(f"the recipient query of {sub.name} {err}",
                             hint=f"fix it in the portal (/portal/subscriptions/{sub.id}/edit) or PATCH /v1/report-subscriptions/{sub.id}") from None  # fmt: skip
        except WarehouseUnavailable as err:
            raise PulseError(str(err), hint="start it: pulse warehouse start (or pulse up)") from None
        except ValueError as err:  # a period that is not one of this report's
            raise PulseError(str(err)) from None
    _print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def _dry_run(store: Store, sub: Subscription, period: str | None) -> None:
    """Plan without writing: what a run would send, skip or find already in the ledger."""
    from operational_api.models import utcnow
    from reports import ledger
    from reports.delivery import plan_subscription

    now = utcnow()
    result = plan_subscription(get_settings(), store, sub, period=period, run_id="dry-run", now=now, dry_run=True)
    with store.read() as session:
        existing = ledger.existing_keys(session, sub.id, {p.period for p in result.planned})
    verdicts: Counter[str] = Counter()
    for item in result.planned:
        state = existing.get(item.key)
        if state is not None:
            verdicts[f"already in the ledger ({state})"] += 1
        else:
            verdicts["would be sent" if item.state == "pending" else f"would be {item.state}"] += 1
    console.print(f"{sub.name}: period {result.periods}: {result.recipients} rows from the recipient query"
                  + (f", {result.without_email} without an email" if result.without_email else ""))  # fmt: skip
    for verdict, n in verdicts.most_common():
        console.print(f"  {n:>7,}  {verdict}")
    table = Table("email", "locale", "params", "verdict", title="first recipients", title_justify="left")
    for item in result.planned[:10]:
        state = existing.get(item.key)
        verdict = f"in ledger: {state}" if state else (item.error or item.state)
        table.add_row(item.email, item.locale, ", ".join(f"{k}={v}" for k, v in item.params.items()), verdict)
    console.print(table)


@app.command("run-due")
def run_due(
    workers: Annotated[int | None, typer.Option(help="Processes. Default: PULSE_REPORTS_WORKERS.")] = None,
) -> None:
    """Run every subscription whose schedule fired, and every retry that is due (what the DAG does)."""
    from operational_api.models import utcnow
    from pulse.core.run_ids import new_run_id
    from reports.delivery import due_jobs, run_job

    settings = get_settings()
    now = utcnow()
    run_id = new_run_id("due")
    with _store() as store:
        jobs = due_jobs(store, now)
    if not jobs:
        console.print("nothing is due")
        return
    failed = False
    for job in jobs:
        try:
            report = _with_progress(job.name, run_job, settings, job, run_id=run_id, now=now, workers=workers)
        except (PulseError, ValueError, RuntimeError) as err:
            console.print(f"[red]{job.name}: {err}[/red]")
            failed = True
            continue
        _print_report(report)
        failed = failed or not report.ok
    if failed:
        raise typer.Exit(1)


@app.command("deliveries")
def deliveries(
    subscription: Annotated[str | None, typer.Argument(help="Name or id; default: all.")] = None,
    period: Annotated[str | None, typer.Option(help="Only this period.")] = None,
    state: Annotated[str | None, typer.Option(help="List the rows in this state (e.g. failed).")] = None,
    limit: Annotated[int, typer.Option(help="Rows listed with --state.")] = 50,
) -> None:
    """The delivery ledger: statements per subscription, period and state; --state lists the rows."""
    from sqlalchemy import select

    from operational_api.models import ReportDelivery
    from reports import ledger
    from reports.delivery import find_subscription, live_subscriptions

    with _store() as store:
        sub_id = find_subscription(store, subscription).id if subscription else None
        names = {s.id: s.name for s in live_subscriptions(store)}
        with store.read() as session:
            counts = ledger.state_counts(session, subscription_id=sub_id, period=period)
            rows = []
            if state:
                query = select(ReportDelivery).where(ReportDelivery.state == state).order_by(ReportDelivery.id)
                if sub_id is not None:
                    query = query.where(ReportDelivery.subscription_id == sub_id)
                if period is not None:
                    query = query.where(ReportDelivery.period == period)
                rows = list(session.scalars(query.limit(limit)))
    summary: dict[tuple[int, str], Counter[str]] = {}
    for (sid, per, st), n in counts.items():
        summary.setdefault((sid, per), Counter())[st] += n
    table = Table("subscription", "period", *STATE_COLOURS, "other")
    for (sid, per), by_state in sorted(summary.items()):
        other = sum(n for s, n in by_state.items() if s not in STATE_COLOURS)
        table.add_row(names.get(sid, f"#{sid} (deleted)"), per, *(str(by_state.get(s, 0)) for s in STATE_COLOURS),
                      str(other))  # fmt: skip
    console.print(table if summary else "the ledger is empty")
    if state:
        detail = Table("id", "email", "period", "attempts", "next attempt", "error / message-id")
        for r in rows:
            detail.add_row(str(r.id), r.email, r.period, str(r.attempts),
                           "-" if r.next_attempt_at is None else f"{r.next_attempt_at:%Y-%m-%d %H:%M:%S}",
                           r.last_error or r.message_id or "")  # fmt: skip
        console.print(detail)


@app.command("retry")
def retry(
    subscription: Annotated[str, typer.Argument(help="Name or id.")],
    period: Annotated[str | None, typer.Option(help="Only this period.")] = None,
    email: Annotated[str | None, typer.Option(help="Only this recipient.")] = None,
    in_doubt: Annotated[bool, typer.Option("--in-doubt", help="Also requeue rows in doubt (may duplicate).")] = False,
) -> None:
    """Requeue deliveries that failed for good (and, with --in-doubt, those whose outcome is unknown).

    Rows in doubt may have reached the recipient: check the relay's log for their Message-ID first; a
    resend carries the same Message-ID."""
    from reports import ledger
    from reports.delivery import find_subscription

    states = ["failed", "in_doubt"] if in_doubt else ["failed"]
    with _store() as store:
        sub = find_subscription(store, subscription)
        n = ledger.requeue(store, sub.id, states=states, period=period, email=email)
    console.print(f"{n} deliveries of {sub.name} requeued: pulse reports run {sub.name!r} sends them")


@app.command("outbox")
def outbox(
    message: Annotated[str | None, typer.Argument(help="File name (or a unique part of it) to show.")] = None,
    limit: Annotated[int, typer.Option(help="Newest messages listed.")] = 20,
    save: Annotated[Path | None, typer.Option(help="With MESSAGE: save its attachments into this folder.")] = None,
) -> None:
    """Messages the embedded SMTP sink received (PULSE_HOME/outbox): list, or show one."""
    from reports.sink import outbox_dir, outbox_files, read_entries, read_message

    folder = outbox_dir(get_settings())
    files = outbox_files(folder)
    if message is None:
        table = Table("received (UTC)", "to", "subject", "KiB", "file", title=f"{len(files)} messages in {folder}")
        for entry in read_entries(files[-limit:]):
            table.add_row(f"{entry.received:%Y-%m-%d %H:%M:%S}", entry.to, entry.subject,
                          f"{entry.size / 1024:.0f}", entry.path.name)  # fmt: skip
        console.print(table)
        return
    matches = [p for p in files if message in p.name]
    if len(matches) != 1:
        raise PulseError(f"{len(matches)} messages match {message!r}", hint="pulse reports outbox lists file names")
    parsed = read_message(matches[0])
    for header in ("From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe"):
        console.print(f"[bold]{header}:[/bold] {parsed.get(header, '')}", highlight=False)
    body = parsed.get_body(preferencelist=("plain",))
    if body is not None:
        console.print(body.get_content(), highlight=False)
    for part in parsed.iter_attachments():
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else 0
        console.print(f"[bold]attachment:[/bold] {part.get_filename()} ({part.get_content_type()}, {size:,} bytes)")
        if save is not None and isinstance(payload, bytes):
            save.mkdir(parents=True, exist_ok=True)
            target = save / Path(part.get_filename() or "attachment.bin").name
            target.write_bytes(payload)
            console.print(f"  saved to {target}")


RENDER_FORMATS = ("pdf", "csv", "xlsx")


def _formats(values: list[str] | None) -> list[str]:
    """--format pdf --format xlsx, or --format pdf,csv: known formats, each once, in the order asked."""
    asked = [f.strip().lower() for value in values or ["pdf"] for f in value.split(",") if f.strip()]
    unknown = [f for f in asked if f not in RENDER_FORMATS]
    if unknown or not asked:
        raise PulseError(f"--format {', '.join(unknown) or '(empty)'} is not one of {', '.join(RENDER_FORMATS)}",
                         hint="e.g. --format pdf,xlsx or --format csv")  # fmt: skip
    return list(dict.fromkeys(asked))


@app.command("render")
def render(
    kind: Annotated[str, typer.Argument(help="hospital_statement, customer_statement, executive_weekly, ...")],
    param: Annotated[list[str] | None, typer.Option("--param", help="k=v, e.g. customer_id=42 period=2026-10.")] = None,
    locale: Annotated[str, typer.Option(help="en or ru.")] = "en",
    output: Annotated[
        Path, typer.Option("-o", "--output", help="PDF file to write; CSV/XLSX files are named after it.")
    ] = Path("report.pdf"),
    fmt: Annotated[
        list[str] | None,
        typer.Option("--format", help="pdf, csv, xlsx: repeat or comma-separate (what a subscription attaches)."),
    ] = None,
) -> None:
    """Render one report to a PDF file (no email), and/or its tables as CSV (one file per table) or XLSX."""
    from reports.render import load_report_data, render_attachments, render_pdf
    from warehouse.identities import WarehouseUnavailable, reader_client

    formats = _formats(fmt)
    params: dict[str, str] = {}
    for item in param or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise PulseError(f"--param {item!r} is not k=v", hint="e.g. --param customer_id=42 --param period=2026-10")
        params[key.strip()] = value.strip()
    try:
        data = load_report_data(reader_client(get_settings()), kind, params, locale)
    except WarehouseUnavailable as err:
        raise PulseError(str(err), hint="start it: pulse warehouse start (or pulse up)") from None
    if "pdf" in formats:
        report = render_pdf(kind, data, locale)
        output.write_bytes(report.pdf)
        console.print(f"[green]wrote[/green] {output} ({report.pages} pages, {len(report.pdf):,} bytes): "
                      f"{report.subject}")  # fmt: skip
    tables = [f for f in formats if f != "pdf"]
    if tables:
        # Named after the output (report.pdf -> report.xlsx, report-<table>.csv), beside it.
        for attachment in render_attachments(kind, data, locale, tables, stem=output.stem):
            target = output.with_name(attachment.filename)
            target.write_bytes(attachment.data)
            console.print(f"[green]wrote[/green] {target} ({len(attachment.data):,} bytes)")


@app.command("sink")
def sink(
    host: Annotated[str | None, typer.Option(help="Default: PULSE_SMTP_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: PULSE_SMTP_PORT.")] = None,
) -> None:
    """Run the embedded SMTP sink in the foreground (`pulse up` runs it in the background)."""
    from reports.sink import outbox_dir, serve

    settings = get_settings()
    console.print(f"SMTP sink on {host or settings.smtp_host}:{port or settings.smtp_port}, "
                  f"messages go to {outbox_dir(settings)}")  # fmt: skip
    serve(settings, host, port)
