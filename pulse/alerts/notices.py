"""What an alert notice says: the email (plain text and HTML) and the webhook's JSON.

The webhook body carries a `text` field, which is what Slack's incoming webhooks and Telegram's sendMessage (with
`?chat_id=` in the URL) post, and the alert itself as structured JSON for any other receiver. Every notice links to
the alert's page, where its recipient acknowledges (no more reminders) or resolves it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from reports.mail import POLICY, sender_address

SEVERITY_MARK = {"info": "ℹ️", "warning": "⚠️", "critical": "🔴"}


@dataclass(frozen=True)
class Notice:
    """One notification about to go out, with what its alert and rule said when it was read."""

    notification_id: int
    alert_id: int
    event: str  # raised, reminder, resolved
    sequence: int
    channel: str
    target: str
    attempts: int
    rule_name: str
    kind: str
    severity: str
    status: str
    subject: str | None
    message: str
    values: dict[str, Any]
    raised_at: dt.datetime
    resolved_at: dt.datetime | None
    occurrences: int

    def headline(self) -> str:
        what = {"raised": "", "reminder": "Reminder: ", "resolved": "Resolved: "}[self.event]
        return f"{what}[{self.severity.upper()}] {self.rule_name}"


def _stamp(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def _lines(notice: Notice) -> list[tuple[str, str]]:
    rows = [("Raised", _stamp(notice.raised_at)), ("Status", notice.status)]
    if notice.resolved_at is not None:
        rows.append(("Resolved", _stamp(notice.resolved_at)))
    if notice.occurrences > 1:
        rows.append(("Times raised", str(notice.occurrences)))
    rows += [
        (key.replace("_", " ").capitalize(), str(value)) for key, value in notice.values.items() if value is not None
    ]
    return rows


def email(notice: Notice, *, smtp_from: str, link: str, now: dt.datetime) -> bytes:
    msg = EmailMessage(policy=POLICY)
    msg["From"] = smtp_from
    msg["To"] = notice.target
    msg["Subject"] = f"{notice.headline()}: {notice.message[:150]}"
    msg["Date"] = format_datetime(now)
    domain = sender_address(smtp_from).rpartition("@")[2] or "pulse.localhost"
    digest = hashlib.sha256(notice.target.lower().encode()).hexdigest()[:16]
    # The same notice retried keeps its Message-ID: a copy that did arrive is recognised as the same message.
    msg["Message-ID"] = f"<alert.{notice.alert_id}.{notice.event}.{notice.sequence}.{digest}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Pulse-Alert"] = str(notice.alert_id)
    rows = _lines(notice)
    act = "" if notice.event == "resolved" else "Acknowledge (stops reminders) or resolve: "
    text = "\n".join([notice.headline(), "", notice.message, "", *(f"{k}: {v}" for k, v in rows), "",
                      f"{act or 'The alert: '}{link}", ""])  # fmt: skip
    table = "".join(
        f"<tr><th style='text-align:left;padding:2px 12px 2px 0'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    button = html.escape("Acknowledge or resolve" if act else "Open the alert")
    body = (
        f"<html><body style='font-family:sans-serif'><h2>{html.escape(notice.headline())}</h2>"
        f"<p>{html.escape(notice.message)}</p><table>{table}</table>"
        f'<p><a href="{html.escape(link, quote=True)}">{button}</a></p></body></html>'
    )
    msg.set_content(text)
    msg.add_alternative(body, subtype="html")
    return msg.as_bytes()


def webhook(notice: Notice, *, link: str) -> dict[str, Any]:
    mark = "✅" if notice.event == "resolved" else SEVERITY_MARK.get(notice.severity, "")
    text = f"{mark} {notice.headline()}\n{notice.message}\n{link}".strip()
    return {
        "text": text,
        "alert": {
            "id": notice.alert_id,
            "event": notice.event,
            "rule": notice.rule_name,
            "kind": notice.kind,
            "severity": notice.severity,
            "status": notice.status,
            "subject": notice.subject,
            "message": notice.message,
            "values": notice.values,
            "raised_at": notice.raised_at.isoformat(),
            "resolved_at": notice.resolved_at.isoformat() if notice.resolved_at else None,
            "occurrences": notice.occurrences,
            "url": link,
        },
    }
