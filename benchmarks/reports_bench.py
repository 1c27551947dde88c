"""Report delivery benchmark: 1,000 customer statements rendered and delivered over real SMTP, against PDFs
of the same statements printed by headless Chromium (the way Superset's reports take their screenshots),
and the SMTP delivery rate alone. One run, one machine (2 cores).

- Pulse: a subscription whose recipient query returns 1,000 customers with activity in the month; one
  run (`reports.delivery.run_subscription`) plans the ledger, loads the data in batches, renders with
  WeasyPrint and sends through the embedded SMTP sink (a separate `pulse reports sink` process) from
  PULSE_REPORTS_WORKERS=2 processes, each on one SMTP connection. Timed end to end, worker start-up included;
  then checked: 1,000 .eml files in the outbox with 1,000 distinct Message-IDs, 1,000 `sent` ledger rows.
- Chromium: the same statements' HTML (`reports.render.render_html`, stylesheet inlined), served over HTTP
  and printed with `page.pdf()` by Debian's Chromium through playwright in 2 processes, on a sample that
  is extrapolated to 1,000 (stated in the output). Two variants: a browser per report, as Superset's
  `WebDriverPlaywright.get_screenshot` launches one for every screenshot (its fixed waits,
  SCREENSHOT_SELENIUM_HEADSTART and _ANIMATION_WAIT, are left out); and a warm browser kept open, the
  strongest way to drive Chromium. The Chromium figures leave out loading the data and sending the mail
  (the Pulse figure includes both), so the ratios are conservative.
- SMTP alone: one real statement message (HTML, text, PDF) sent again and again to the sink over 2 persistent
  connections, against a new connection per message (how a mailer that connects per email sends).

Goals: all 1,000 rendered and delivered within 5 minutes on 2 cores, at least 5x faster than the screenshot
path, SMTP above 100,000 messages per hour.

Run: `.venv/bin/python benchmarks/reports_bench.py [--statements 1000] [--sample 50] [--home DIR]`
(the first run simulates a business, extracts it and builds the marts: about two minutes, not timed;
`--home` keeps that for the next run).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, wait
from email.parser import BytesHeaderParser
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from operational_api.db import Store  # noqa: E402
from operational_api.migrate import upgrade  # noqa: E402
from pulse.core.settings import Settings  # noqa: E402

console = Console(width=150)
PERIOD = "2026-03"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RECIPIENTS = """SELECT m.customer_id AS customer_id, c.email AS email, c.locale AS locale, c.full_name AS name
FROM marts.mart_customer_spend_monthly AS m
INNER JOIN marts.dim_customers AS c ON c.customer_id = m.customer_id
WHERE m.month = toDate('{period}-01') AND m.ledger_entries > 0 AND c.email != ''
ORDER BY m.customer_id
LIMIT {limit}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up")


def start(command: list[str], home: Path, env: dict[str, str], log: str) -> subprocess.Popen[bytes]:
    out = open(home / log, "ab")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(command, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)


def pinged(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/ping", timeout=1).text == "Ok.\n"
    except httpx.HTTPError:
        return False


def build_business(settings: Settings, scale: float, days: int) -> None:
    """Simulate, extract and build the marts (skipped when the home already has them)."""
    import datetime as dt

    from extractors.feeds import load_feeds
    from extractors.pipeline import extract
    from pulse.dbt.runner import run_dbt
    from simulator.config import SimConfig
    from simulator.history import run_history
    from warehouse.client import connect

    client = connect(settings)
    if client.query("SELECT count() FROM system.tables WHERE database = 'marts'").result_rows[0][0]:
        console.print("marts already built in this home: reusing them")
        return
    upgrade(str(settings.ops_database_url))
    store = Store(settings=settings)
    try:
        with console.status(f"simulating {days} days at scale {scale}..."):
            run_history(store, settings, SimConfig(seed=42, days=days, end=dt.date(2026, 3, 31), scale=scale),
                        show_progress=False)  # fmt: skip
    finally:
        store.dispose()
    with console.status("extract-load and dbt build..."):
        extract(settings)
        load_feeds(client, settings.resolved_landing_url)
        if run_dbt(["build", "--quiet"], settings) != 0:
            raise RuntimeError("dbt build failed")


# -- Pulse ---------------------------------------------------------------------------------------------
def pulse_run(settings: Settings, statements: int, workers: int) -> tuple[float, dict[str, int]]:
    from operational_api.services.reporting import create_subscription
    from reports.delivery import find_subscription, run_subscription

    store = Store(settings=settings)
    try:
        name = f"bench-{time.time_ns()}"
        query = RECIPIENTS.format(period=PERIOD, limit=statements)
        row = create_subscription(store, settings, {"name": name, "report_kind": "customer_statement",
                                                    "cron": "0 8 1 * *", "time_zone": "Europe/Moscow",
                                                    "format": "pdf", "enabled": True, "recipient_query": query})  # fmt: skip
        sub = find_subscription(store, row.id)
    finally:
        store.dispose()
    started = time.perf_counter()
    report = run_subscription(settings, sub, period=PERIOD, workers=workers)
    return time.perf_counter() - started, report.states


def check_outbox(outbox: Path, expected: int) -> int:
    parser = BytesHeaderParser()
    ids = set()
    files = list(outbox.glob("*.eml"))
    for path in files:
        with path.open("rb") as handle:
            ids.add(parser.parse(handle)["Message-ID"])
    if len(files) != expected or len(ids) != expected:
        raise RuntimeError(f"outbox has {len(files)} messages with {len(ids)} Message-IDs, expected {expected}")
    return len(ids)


# -- Chromium ------------------------------------------------------------------------------------------
_playwright: Any = None
_browser: Any = None


def _launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)


def _warm_browser() -> None:
    global _playwright, _browser
    from playwright.sync_api import sync_playwright

    _playwright = sync_playwright().start()
    _browser = _launch(_playwright)


def print_warm(url: str) -> int:
    """A page in the worker's long-lived browser: load the statement, print it."""
    page = _browser.new_page()
    try:
        page.goto(url, wait_until="load")
        return len(page.pdf(format="A4", print_background=True, prefer_css_page_size=True))
    finally:
        page.close()


def print_per_report(url: str) -> int:
    """What Superset's reports do per screenshot: start Chromium, open a context and a page, load, capture."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = _launch(playwright)
        try:
            page = browser.new_context().new_page()
            page.goto(url, wait_until="load")
            return len(page.pdf(format="A4", print_background=True, prefer_css_page_size=True))
        finally:
            browser.close()


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    """Serves the statements' HTML, as Superset's web server serves the page a report captures."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a browser closing its connection early (e.g. after /favicon.ico) is not news


def statement_pages(settings: Settings, sample: int, folder: Path) -> list[str]:
    """The sample's statements as standalone HTML files (what a browser would print)."""
    from reports.render import ReportDataError, load_many, render_html
    from warehouse.identities import reader_client

    client = reader_client(settings)
    rows = client.query(RECIPIENTS.format(period=PERIOD, limit=sample)).named_results()
    recipients = [(str(r["customer_id"]), str(r["locale"])) for r in rows]
    loaded = load_many(client, "customer_statement", [{"customer_id": c, "period": PERIOD} for c, _ in recipients])
    names = []
    for (customer_id, locale), data in zip(recipients, loaded, strict=True):
        if isinstance(data, ReportDataError):
            raise data
        name = f"statement-{customer_id}.html"
        (folder / name).write_text(render_html("customer_statement", data, locale), encoding="utf-8")
        names.append(name)
    (folder / "favicon.ico").write_bytes(b"")  # browsers ask for it; an answer keeps the log quiet
    return names


def chromium_run(urls: list[str], workers: int, *, warm: bool) -> float:
    """Seconds to print every URL with `workers` processes (warm browsers are started and warmed first)."""
    context = get_context("spawn")
    initializer = _warm_browser if warm else None
    work = print_warm if warm else print_per_report
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=initializer) as pool:
        if warm:
            wait([pool.submit(work, urls[0]) for _ in range(workers * 2)])
        started = time.perf_counter()
        sizes = list(pool.map(work, urls))
        seconds = time.perf_counter() - started
    if not all(size > 1000 for size in sizes):
        raise RuntimeError("Chromium printed an empty PDF")
    return seconds


# -- SMTP alone ----------------------------------------------------------------------------------------
def sample_message(settings: Settings) -> bytes:
    """One real statement email (as the pipeline builds it), to send again and again."""
    import datetime as dt

    from reports.mail import build_message
    from reports.render import load_report_data, render_pdf
    from warehouse.identities import reader_client

    client = reader_client(settings)
    row = client.query(RECIPIENTS.format(period=PERIOD, limit=1)).named_results().__next__()
    data = load_report_data(client, "customer_statement", {"customer_id": str(row["customer_id"]), "period": PERIOD})
    report = render_pdf(
        "customer_statement", data, str(row["locale"]), unsubscribe_url="http://127.0.0.1/v1/unsubscribe/x"
    )
    return build_message(smtp_from=settings.smtp_from, to_email="bench@example.com", to_name="Bench",
                         report=report, msg_id="<bench@pulse.localhost>", unsubscribe_url="http://127.0.0.1/u",
                         delivery_id=0, now=dt.datetime.now(dt.UTC))  # fmt: skip


def smtp_persistent(settings: Settings, message: bytes, count: int, connections: int) -> float:
    from reports.smtp import Outcome, SmtpSender

    def send(share: range) -> None:
        with SmtpSender(settings) as sender:
            for i in share:
                if (
                    sender.send("reports@pulse.localhost", f"bench-{i}@example.com", message).outcome
                    is not Outcome.SENT
                ):
                    raise RuntimeError("the sink refused a message")

    threads = [threading.Thread(target=send, args=(range(k, count, connections),)) for k in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def smtp_per_message(settings: Settings, message: bytes, count: int, connections: int) -> float:
    def send(share: range) -> None:
        for i in share:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=60) as conn:
                conn.sendmail("reports@pulse.localhost", [f"bench-{i}@example.com"], message)

    threads = [threading.Thread(target=send, args=(range(k, count, connections),)) for k in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--statements", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=50, help="statements printed by a warm Chromium")
    parser.add_argument("--per-report-sample", type=int, default=20, help="statements printed Superset's way")
    parser.add_argument("--smtp-messages", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scale", type=float, default=0.1, help="business simulated (0.1 = ~1,400 customers)")
    parser.add_argument("--days", type=int, default=45)
    parser.add_argument("--home", type=Path, help="keep the simulated business here (reused next time)")
    args = parser.parse_args()

    home = args.home or Path(tempfile.mkdtemp(prefix="pulse-reports-bench-"))
    home.mkdir(parents=True, exist_ok=True)
    wh_port, smtp_port, http_port = free_port(), free_port(), free_port()
    settings = Settings(
        home=home,
        ops_database_url=f"sqlite:///{home / 'ops.db'}",
        clickhouse_url=f"http://default:@127.0.0.1:{wh_port}",
        smtp_port=smtp_port,
        reports_workers=args.workers,
    )
    env = {"PULSE_HOME": str(home), "PULSE_CLICKHOUSE_URL": settings.clickhouse_url, "PULSE_SMTP_PORT": str(smtp_port)}
    warehouse = start([sys.executable, "-m", "warehouse.embedded", "serve"], home, env, "warehouse.log")
    sink = None
    pages = Path(tempfile.mkdtemp(prefix="pulse-statements-"))
    try:
        wait_until(lambda: pinged(wh_port), "the warehouse")
        build_business(settings, args.scale, args.days)
        upgrade(str(settings.ops_database_url))
        outbox = home / "outbox"
        shutil.rmtree(outbox, ignore_errors=True)
        sink = start([sys.executable, "-m", "pulse", "reports", "sink"], home, env, "sink.log")
        from reports.sink import smtp_answers

        wait_until(lambda: smtp_answers("127.0.0.1", smtp_port), "the SMTP sink")

        console.rule(f"Pulse: {args.statements:,} customer statements rendered and delivered ({args.workers} workers)")
        pulse_seconds, states = pulse_run(settings, args.statements, args.workers)
        if states != {"sent": args.statements}:
            raise RuntimeError(f"the run ended with {states}, expected {args.statements} sent")
        check_outbox(outbox, args.statements)
        console.print(f"{pulse_seconds:.1f} s, {states['sent']:,} sent; outbox checked (one distinct Message-ID each)")

        console.rule(f"Chromium page.pdf(): samples of {args.sample} (warm) and {args.per_report_sample} (per report)")
        handler = functools.partial(QuietFiles, directory=str(pages))
        server = QuietServer(("127.0.0.1", http_port), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        names = statement_pages(settings, max(args.sample, args.per_report_sample), pages)
        urls = [f"http://127.0.0.1:{http_port}/{name}" for name in names]
        warm_seconds = chromium_run(urls[: args.sample], args.workers, warm=True)
        per_report_seconds = chromium_run(urls[: args.per_report_sample], args.workers, warm=False)
        server.shutdown()
        warm_total = warm_seconds / len(urls[: args.sample]) * args.statements
        per_report_total = per_report_seconds / len(urls[: args.per_report_sample]) * args.statements
        console.print(f"warm: {warm_seconds:.1f} s for {args.sample}; per report: {per_report_seconds:.1f} s for "
                      f"{args.per_report_sample}; both extrapolated linearly to {args.statements:,}")  # fmt: skip

        console.rule(f"SMTP alone: {args.smtp_messages:,} messages to the sink")
        message = sample_message(settings)
        persistent = smtp_persistent(settings, message, args.smtp_messages, args.workers)
        per_message_count = max(args.smtp_messages // 5, 1)
        per_message = smtp_per_message(settings, message, per_message_count, args.workers)
        rate = args.smtp_messages / persistent * 3600
        rate_per_message = per_message_count / per_message * 3600
        console.print(f"message of {len(message) / 1024:.0f} KiB (HTML, text, PDF)")
    finally:
        for process in (sink, warehouse):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(60)
        shutil.rmtree(pages, ignore_errors=True)
        if args.home is None:
            shutil.rmtree(home, ignore_errors=True)

    table = Table("measure", "value", "ratio / goal", title="report delivery on this machine", title_justify="left")
    table.add_row(f"Pulse: {args.statements:,} statements rendered + delivered", f"{pulse_seconds:.1f} s "
                  f"({args.statements / pulse_seconds:.1f}/s)", f"goal < 300 s: {'met' if pulse_seconds < 300 else 'MISSED'}")  # fmt: skip
    table.add_row("Chromium, a browser per report (Superset's way), extrapolated", f"{per_report_total:.0f} s",
                  f"{per_report_total / pulse_seconds:.1f}x slower than Pulse (goal >= 5x: "
                  f"{'met' if per_report_total / pulse_seconds >= 5 else 'MISSED'})")  # fmt: skip
    table.add_row(
        "Chromium, warm browser (strongest), extrapolated",
        f"{warm_total:.0f} s",
        f"{warm_total / pulse_seconds:.1f}x slower than Pulse",
    )
    table.add_row(
        f"SMTP, {args.workers} persistent connections",
        f"{rate:,.0f} msg/h",
        f"goal > 100,000 msg/h: {'met' if rate > 100_000 else 'MISSED'}",
    )
    table.add_row(f"SMTP, a connection per message ({per_message_count:,} sent)", f"{rate_per_message:,.0f} msg/h",
                  f"persistent is {rate / rate_per_message:.1f}x faster")  # fmt: skip
    console.print(table)
    console.print(f"Chromium figures exclude data loading and sending (Pulse's include both); "
                  f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end.")  # fmt: skip


if __name__ == "__main__":
    main()
