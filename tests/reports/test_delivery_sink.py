"""The embedded SMTP sink as a platform service: started and stopped like the others (healthy when it greets),
stores every message it accepts as a .eml file, and `pulse reports outbox` lists and shows them."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

from pulse.core import processes
from pulse.core.settings import Settings
from pulse.platform import lineup
from reports import sink
from reports.mail import build_message
from reports.render import RenderedReport
from reports.smtp import Outcome, SmtpSender
from tests.conftest import free_port


def message(to: str) -> bytes:
    report = RenderedReport(pdf=b"%PDF-1.4\n% a tiny stand-in\n%%EOF\n", subject="Выписка за октябрь 2026",
                            html_body="<p>Здравствуйте!</p>", filename="statement-2026-10-ru.pdf", pages=1)  # fmt: skip
    return build_message(smtp_from="Pulse Reports <reports@pulse.localhost>", to_email=to, to_name="Анна",
                         report=report, msg_id=f"<{to}@pulse.localhost>", unsubscribe_url="http://api.test/v1/unsubscribe/t",
                         delivery_id=1, now=dt.datetime(2026, 11, 1, 8, tzinfo=dt.UTC))  # fmt: skip


def pulse(settings: Settings, *args: str) -> str:
    env = {**os.environ, "PULSE_HOME": str(settings.home), "PULSE_OPS_DATABASE_URL": str(settings.ops_database_url),
           "COLUMNS": "200"}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "pulse", "reports", *args], env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_sink_service_stores_every_message_and_the_cli_reads_them(tmp_path: Path, ops_template: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ops_template, home / "ops.db")
    settings = Settings(home=home, smtp_port=free_port(), ops_database_url=f"sqlite:///{home / 'ops.db'}")
    service = sink.service(settings)
    in_platform = {s.name: s.health_url for s in lineup.all_services(settings)}
    assert in_platform["smtp-sink"] == service.health_url == f"smtp://127.0.0.1:{settings.smtp_port}"
    relay = settings.model_copy(update={"smtp_sink": False})  # production: a relay, no sink
    assert "smtp-sink" not in {s.name for s in lineup.all_services(relay)}
    assert not processes.healthy(service)
    processes.start(service, settings)
    try:
        assert processes.healthy(service)
        with SmtpSender(settings) as sender:  # one connection for all three
            results = [sender.send("reports@pulse.localhost", f"r{i}@example.com", message(f"r{i}@example.com"))
                       for i in range(3)]  # fmt: skip
        assert {r.outcome for r in results} == {Outcome.SENT}
        files = sink.outbox_files(sink.outbox_dir(settings))
        assert len(files) == 3
        stored = sink.read_message(files[0])
        assert stored["X-Pulse-Envelope-To"] == "r0@example.com" and stored["Subject"] == "Выписка за октябрь 2026"

        listing = pulse(settings, "outbox")
        assert "3 messages" in listing and all(f.name[:20] in listing for f in files)
        shown = pulse(settings, "outbox", files[1].name, "--save", str(tmp_path / "saved"))
        assert "r1@example.com" in shown and "Здравствуйте!" in shown
        assert (tmp_path / "saved" / "statement-2026-10-ru.pdf").read_bytes().startswith(b"%PDF-1.4")
        assert "the ledger is empty" in pulse(settings, "deliveries")
    finally:
        assert processes.stop(service, settings)
    assert not processes.healthy(service)
