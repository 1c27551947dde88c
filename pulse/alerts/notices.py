"""What an alert notice says: the email (plain text and HTML) and the webhook's JSON.

Notices due at the same time for one rule, event and recipient go out as one message (as Alertmanager groups): the
alert itself when there is one, a digest listing each with its own link when there are many (a first evaluation
on a store with 140 products low in stock sends one email, not 140).

The webhook body carries a `text` field, which is what Slack's incoming webhooks and Telegram's sendMessage (with
`?chat_id=` in the URL) post, and the alert itself as structured JSON for any other receiver. Every notice links to
the alert's page, where its recipient acknowledges (no more reminders) or resolves it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from reports.mail import POLICY, sender_address

SEVERITY_MARK = {"info": "ℹ️", "warning": "⚠️", "critical": "🔴"}
DIGEST_LINES = 20  # a chat message lists this many alerts of a digest; `alerts` carries them all


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


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def _one_line(text: str) -> str:
    """A header's text: a message carrying a line break (a top-up failure's reason, say) must not break the header."""
    return " ".join(_CONTROL.sub(" ", text).split())


def _chat(text: str) -> str:
    """Text as Slack reads it literally: `<`, `>` and `&` are its markup (`<!channel>` would page everyone)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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


def _one_email(notice: Notice, link: str) -> tuple[str, str, str]:
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
        f"<h2>{html.escape(notice.headline())}</h2><p>{html.escape(notice.message)}</p><table>{table}</table>"
        f'<p><a href="{html.escape(link, quote=True)}">{button}</a></p>'
    )
    return f"{notice.headline()}: {notice.message[:150]}", text, body


def _digest_email(group: Sequence[Notice], links: Callable[[int], str]) -> tuple[str, str, str]:
    first = group[0]
    headline = f"{first.headline()}: {len(group)} alerts"
    text = "\n".join([headline, "", *(f"- {n.message}\n  {links(n.alert_id)}" for n in group), ""])
    items = "".join(
        f'<li>{html.escape(n.message)} <a href="{html.escape(links(n.alert_id), quote=True)}">open</a></li>'
        for n in group
    )
    return headline, text, f"<h2>{html.escape(headline)}</h2><ul>{items}</ul>"


def email(group: Sequence[Notice], *, smtp_from: str, links: Callable[[int], str], now: dt.datetime) -> bytes:
    """One message for a group of notices to one address (one rule and event): the alert itself, or a digest."""
    first = group[0]
    subject, text, body = _one_email(first, links(first.alert_id)) if len(group) == 1 else _digest_email(group, links)
    msg = EmailMessage(policy=POLICY)
    msg["From"] = smtp_from
    msg["To"] = first.target
    msg["Subject"] = _one_line(subject)
    msg["Date"] = format_datetime(now)
    domain = sender_address(smtp_from).rpartition("@")[2] or "pulse.localhost"
    ids = ",".join(str(n.notification_id) for n in group)
    digest = hashlib.sha256(f"{first.target.lower()}\x00{ids}".encode()).hexdigest()[:16]
    # The same notice retried keeps its Message-ID: a copy that did arrive is recognised as the same message.
    msg["Message-ID"] = f"<alert.{first.alert_id}.{first.event}.{first.sequence}.{digest}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Pulse-Alert"] = ",".join(str(n.alert_id) for n in group)
    msg.set_content(text)
    msg.add_alternative(f"<html><body style='font-family:sans-serif'>{body}</body></html>", subtype="html")
    return msg.as_bytes()


def _alert(notice: Notice, link: str) -> dict[str, Any]:
    return {
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
    }


def webhook(group: Sequence[Notice], *, links: Callable[[int], str]) -> dict[str, Any]:
    """`text` for chat receivers (the alert, or a digest of at most DIGEST_LINES lines), `alerts` for programs."""
    first = group[0]
    mark = "✅" if first.event == "resolved" else SEVERITY_MARK.get(first.severity, "")
    if len(group) == 1:
        text = f"{mark} {_chat(first.headline())}\n{_chat(first.message)}\n{links(first.alert_id)}"
    else:
        lines = [f"• {_chat(n.message)} {links(n.alert_id)}" for n in group[:DIGEST_LINES]]
        more = [f"… and {len(group) - DIGEST_LINES} more"] if len(group) > DIGEST_LINES else []
        text = "\n".join([f"{mark} {_chat(first.headline())}: {len(group)} alerts", *lines, *more])
    alerts = [_alert(n, links(n.alert_id)) for n in group]
    return {"text": text.strip(), "alert": alerts[0], "alerts": alerts}
