"""Where an alert webhook may point: http(s) URLs of public hosts, and loopback or private hosts only when the operator
named them (PULSE_ALERTS_WEBHOOK_PRIVATE_HOSTS).

Whoever can write an alert rule chooses a URL Pulse will POST to. Without this check that is a way into every
internal service next to Pulse (server-side request forgery): the warehouse's HTTP interface on 127.0.0.1:8123 runs
the body of a POST as a query. The name is checked when the rule is written and every address it resolves to when
the call is made (a public name may resolve to a private address).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from pulse.core.settings import Settings, get_settings


class WebhookRefused(ValueError):
    """A webhook URL Pulse will not call, and why."""


def _allowed_hosts(settings: Settings) -> set[str]:
    return {h.strip().lower() for h in settings.alerts_webhook_private_hosts.split(",") if h.strip()}


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def _host(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise WebhookRefused("a webhook URL starts with https:// (or http://)")
    if parts.username is not None or parts.password is not None:
        raise WebhookRefused("a webhook URL carries no user or password (put a token in its path or query)")
    host = (parts.hostname or "").lower()
    if not host:
        raise WebhookRefused("a webhook URL names a host")
    try:
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        raise WebhookRefused("the webhook URL's port is not a number from 1 to 65535") from None
    return host


def check_url(url: str, settings: Settings | None = None) -> str:
    """The URL if a rule may name it: refused when its host is loopback, private or link-local (as a literal address
    or `localhost`) and not among PULSE_ALERTS_WEBHOOK_PRIVATE_HOSTS."""
    settings = settings or get_settings()
    host = _host(url)
    if host in _allowed_hosts(settings):
        return url
    try:
        private = _private(host)
    except ValueError:  # a name: resolved when called
        private = host == "localhost" or host.endswith((".localhost", ".internal", ".local"))
    if private:
        raise WebhookRefused(
            f"{host} is a loopback or private address: name it in PULSE_ALERTS_WEBHOOK_PRIVATE_HOSTS to allow it"
        )
    return url


def check_resolved(url: str, settings: Settings) -> None:
    """Just before a call: every address the host resolves to is public, unless the host is allowed by name."""
    host = _host(url)
    if host in _allowed_hosts(settings):
        return
    port = urlsplit(url).port or (443 if url.startswith("https") else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as err:
        raise ConnectionError(f"cannot resolve {host}: {err}") from None
    for info in infos:
        if _private(str(info[4][0])):
            raise WebhookRefused(f"{host} resolves to a loopback or private address: refused")


def shown(url: str) -> str:
    """What logs and the API show of a webhook URL: its scheme and host (the path and query are often its secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}{f':{parts.port}' if parts.port else ''}/…"
