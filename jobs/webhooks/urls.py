"""Which webhook URLs may be called: http(s) only, never an internal address (SSRF)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from jobs.errors import InvalidRequest

MAX_URL_LENGTH = 2048


class WebhookRefused(InvalidRequest):
    """Raised when a webhook URL is not one we may call (422 at submit)."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            "The request did not validate; see `errors` for each field.", {"webhook": [reason]}
        )
        self.reason = reason


@dataclass(frozen=True)
class Target:
    """A checked webhook URL: where to connect (an address that passed the check)."""

    scheme: str
    host: str  # as written in the URL (Host header, TLS server name)
    port: int
    path: str  # path and query
    addresses: tuple[str, ...]


def internal(address: str) -> bool:
    """True for loopback, private, link-local, multicast, reserved or unspecified addresses."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def check_url(url: str, allow_private: bool) -> Target:
    """Parse and resolve a webhook URL; WebhookRefused unless it may be called."""
    if len(url) > MAX_URL_LENGTH:
        raise WebhookRefused(f"A webhook URL is at most {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookRefused("Not a valid URL.") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise WebhookRefused("A webhook URL must be an absolute http:// or https:// URL.")
    host = parts.hostname
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise WebhookRefused(f"The host {host!r} does not resolve.") from None
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    if not allow_private:
        refused = [a for a in addresses if internal(a)]
        if refused:
            raise WebhookRefused(
                f"The host {host!r} resolves to {refused[0]}, an internal address "
                "(loopback, private, link-local or multicast); webhooks are only sent "
                "to public addresses."
            )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, addresses)
