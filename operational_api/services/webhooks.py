"""Where an alert webhook may point: http(s) URLs of public hosts, and loopback or private hosts only when the operator
named them (PULSE_ALERTS_WEBHOOK_PRIVATE_HOSTS).

Whoever can write an alert rule chooses a URL Pulse will POST to. Without this check that is a way into every
internal service next to Pulse (server-side request forgery): the warehouse's HTTP interface on 127.0.0.1:8123 runs
the body of a POST as a query. The name is checked when the rule is written, and every address it resolves to when
the call is made (a public name may resolve to a private address); the call then goes to the address checked, not
to a second lookup's answer (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from pulse.core.settings import Settings, get_settings


class WebhookRefused(ValueError):
    """A webhook URL Pulse will not call, and why."""


# Beyond what `ipaddress` calls non-global: IPv6 forms that carry an IPv4 address to an inside network (NAT64, 6to4,
# IPv4-compatible) and the deprecated site-local range.
_INSIDE = [ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "::/96", "fec0::/10")]


@dataclass(frozen=True)
class Target:
    """Where a webhook call goes: the URL with the host replaced by the address checked (so that a second lookup
    cannot answer another one), the Host header and the name TLS verifies the certificate against."""

    url: str
    host_header: str | None = None
    sni_hostname: str | None = None


def _allowed_hosts(settings: Settings) -> set[str]:
    return {h.strip().lower() for h in settings.alerts_webhook_private_hosts.split(",") if h.strip()}


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast or any(ip in net for net in _INSIDE if net.version == ip.version)


def _host(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise WebhookRefused("a webhook URL starts with https:// (or http://)")
    if parts.username is not None or parts.password is not None:
        raise WebhookRefused("a webhook URL carries no user or password (put a token in its path or query)")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise WebhookRefused("a webhook URL names a host")
    try:
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        raise WebhookRefused("the webhook URL's port is not a number from 1 to 65535") from None
    try:
        host.encode("idna")
    except UnicodeError:
        raise WebhookRefused("the webhook URL's host is not a valid name") from None
    return host


def _literal(host: str) -> str | None:
    """The address a host names literally: an IP, or a number the resolver would read as one (`2130706433`,
    `0x7f.1`: what `inet_aton` accepts)."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if all(c in "0123456789abcdefx." for c in host):
        try:
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_url(url: str, settings: Settings | None = None) -> str:
    """The URL if a rule may name it: refused when its host is loopback, private or link-local (as an address in any
    notation, or `localhost`) and not among PULSE_ALERTS_WEBHOOK_PRIVATE_HOSTS."""
    settings = settings or get_settings()
    host = _host(url)
    if host in _allowed_hosts(settings):
        return url
    literal = _literal(host)
    private = (
        _private(literal) if literal else host == "localhost" or host.endswith((".localhost", ".internal", ".local"))
    )
    if private:
        raise WebhookRefused(
            f"{host} is a loopback or private address: name it in PULSE_ALERTS_WEBHOOK_PRIVATE_HOSTS to allow it"
        )
    return url


def resolve(url: str, settings: Settings) -> Target:
    """Just before a call: the address to call, every address the host resolves to being public (unless the host is
    allowed by name). ConnectionError when it does not resolve (try later), WebhookRefused when it is inside."""
    host = _host(url)
    if host in _allowed_hosts(settings):
        return Target(url)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as err:
        raise ConnectionError(f"cannot resolve {host}: {err}") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses or any(_private(a) for a in addresses):
        raise WebhookRefused(f"{host} resolves to a loopback or private address: refused")
    address = addresses[0]
    literal = f"[{address}]" if ":" in address else address
    pinned = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path, parts.query, parts.fragment))
    return Target(pinned, parts.netloc, host if parts.scheme == "https" else None)


def shown(url: str) -> str:
    """What logs and the API show of a webhook URL: its scheme and host (the path and query are often its secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}{f':{parts.port}' if parts.port else ''}/…"
