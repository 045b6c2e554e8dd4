"""Which URLs Kaiku may send webhooks to.

A webhook URL is chosen by a workspace admin, so without a check Kaiku could be
made to probe or attack its own network (SSRF): the database, a cloud metadata
service at 169.254.169.254, an admin panel on localhost. Every address the host
name resolves to must be public, unless KAIKU_WEBHOOKS_ALLOW_PRIVATE is true.
The check runs when the URL is saved (a helpful form error) and again at every
send, where the request then goes to the very address that was checked: a DNS
answer that changes between check and connect (DNS rebinding) cannot slip in.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

ALLOWED_SCHEMES = ("https", "http")
MAX_URL_LENGTH = 500
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(Exception):
    """The URL may not be used; `reason` says why (English, shown in logs and forms)."""

    def __init__(self, reason: str, *, code: str = "invalid", permanent: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        # invalid, scheme, credentials, private or unresolvable (forms translate by code).
        self.code = code
        # False when the same URL may work later (the name did not resolve just now).
        self.permanent = permanent


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with the query string, as sent in the request line


def parse_url(url: str) -> Target:
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl("The URL is too long.")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UnsafeUrl("The URL is not valid.") from None
    if parts.scheme not in ALLOWED_SCHEMES:
        raise UnsafeUrl("Only http:// and https:// URLs are allowed.", code="scheme")
    if not parts.hostname:
        raise UnsafeUrl("The URL has no host name.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl(
            "Check the signature in the receiver instead of a password in the URL.",
            code="credentials",
        )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default_port = 443 if parts.scheme == "https" else 80
    return Target(parts.scheme, parts.hostname, port or default_port, path)


def is_public(address: IPAddress) -> bool:
    """False for loopback, private, link-local, reserved, multicast and unspecified addresses."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public(address.ipv4_mapped)  # ::ffff:127.0.0.1 is 127.0.0.1
    return not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or not address.is_global  # shared (100.64/10), documentation, benchmarking ranges …
    )


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, in the resolver's order (an IP literal is itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise UnsafeUrl(
            f"The host name {host} does not resolve.", code="unresolvable", permanent=False
        ) from None
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeUrl(
            f"The host name {host} does not resolve.", code="unresolvable", permanent=False
        )
    return addresses


def allowed_addresses(target: Target, allow_private: bool | None = None) -> list[IPAddress]:
    """The addresses to connect to; UnsafeUrl if any of them is not public (unless allowed)."""
    if allow_private is None:
        allow_private = settings.WEBHOOKS_ALLOW_PRIVATE
    addresses = resolve(target.host, target.port)
    if not allow_private:
        # Every address, not just the first: a name with one public and one
        # private address would otherwise reach the private one on a retry.
        refused = [str(a) for a in addresses if not is_public(a)]
        if refused:
            raise UnsafeUrl(
                f"{target.host} resolves to a private or reserved address ({refused[0]}); "
                "webhooks only go to public addresses.",
                code="private",
            )
    return addresses


def check_url(url: str, allow_private: bool | None = None) -> Target:
    """The parsed URL if Kaiku may send to it now; UnsafeUrl otherwise."""
    target = parse_url(url)
    allowed_addresses(target, allow_private)
    return target
