"""The email that carries a report: HTML body with a plain-text alternative, the PDF attached (then, if the
subscription asks for them, the statement's tables as CSV and XLSX files).

The Message-ID is derived from (subscription, recipient, period, parameters), so every copy of one
statement - including one an operator deliberately resends - carries the same ID and is recognisable as
the same message by the recipient's mail system and in relay logs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reports.render import RenderedReport

_BLOCK_END = re.compile(r"</(p|div|h[1-6]|li|tr|table|section|header|footer)>|<br\s*/?>", re.I)
_CELL_END = re.compile(r"</t[dh]>", re.I)
_LINK = re.compile(r"<a\s[^>]*href=\"([^\"]+)\"[^>]*>(.*?)</a>", re.I | re.S)
_TAG = re.compile(r"<[^>]+>")
_STYLE = re.compile(r"<(style|script|head)\b.*?</\1>", re.I | re.S)
# RFC 5322 allows header lines up to 998 characters. The default 78 would fold the List-Unsubscribe URL
# into RFC 2047 encoded words, which mail clients do not decode in that header.
POLICY = SMTP.clone(max_line_length=998)


def sender_address(smtp_from: str) -> str:
    """The bare address of a From setting such as `Pulse Reports <reports@pulse.localhost>`."""
    return parseaddr(smtp_from)[1] or smtp_from


def message_id(subscription_id: int, email: str, period: str, params_sha256: str, smtp_from: str) -> str:
    domain = sender_address(smtp_from).rpartition("@")[2] or "pulse.localhost"
    digest = hashlib.sha256(f"{subscription_id}\x00{email.lower()}\x00{period}\x00{params_sha256}".encode())
    return f"<report.{subscription_id}.{period}.{digest.hexdigest()[:24]}@{domain}>"


def _link_text(match: re.Match[str]) -> str:
    label, url = _TAG.sub("", match[2]).strip(), html.unescape(match[1])
    return url if label in ("", url) else f"{label} ({url})"


def html_to_text(body: str) -> str:
    """A readable plain-text rendering of the HTML body (links kept as `text (url)`)."""
    text = _STYLE.sub("", body)
    text = _LINK.sub(_link_text, text)
    text = _CELL_END.sub("\t", text)
    text = _BLOCK_END.sub("\n", text)
    text = html.unescape(_TAG.sub("", text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip() + "\n"


def build_message(
    *,
    smtp_from: str,
    to_email: str,
    to_name: str | None,
    report: RenderedReport,
    msg_id: str,
    unsubscribe_url: str,
    delivery_id: int,
    now: dt.datetime,
) -> bytes:
    """The message as bytes ready for SMTP DATA (CRLF line ends)."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = smtp_from
    msg["To"] = Address(display_name=to_name or "", addr_spec=to_email)
    msg["Subject"] = report.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = msg_id
    # RFC 2369 / RFC 8058: mail clients show an unsubscribe button that POSTs to this URL.
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Pulse-Delivery"] = str(delivery_id)
    text = html_to_text(report.html_body)
    if unsubscribe_url not in text:
        text += f"\nUnsubscribe: {unsubscribe_url}\n"
    body = report.html_body
    if unsubscribe_url not in html.unescape(body):
        link = html.escape(unsubscribe_url, quote=True)
        body += f'\n<p style="font-size:11px;color:#666"><a href="{link}">Unsubscribe</a></p>\n'
    msg.set_content(text)
    msg.add_alternative(body, subtype="html")
    msg.add_attachment(report.pdf, maintype="application", subtype="pdf", filename=report.filename)
    for extra in report.attachments:
        params = {"charset": extra.charset} if extra.charset else None
        msg.add_attachment(extra.data, maintype=extra.maintype, subtype=extra.subtype, filename=extra.filename,
                           params=params)  # fmt: skip
    return msg.as_bytes()
