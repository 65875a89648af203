"""Pure rules: which event types an endpoint subscribes to, and which URLs may receive deliveries."""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from assay_shared.events.catalog import catalog

ALL = "*"


def subscription_errors(patterns: list[str]) -> dict[str, list[str]]:
    """Errors per `event_types[i]`: each must be a catalog type, `<prefix>.*`, or `*`."""
    types = catalog.types()
    errors: dict[str, list[str]] = {}
    seen: set[str] = set()
    for index, pattern in enumerate(patterns):
        where = f"event_types[{index}]"
        if pattern in seen:
            errors.setdefault(where, []).append(f"{pattern!r} is listed twice")
            continue
        seen.add(pattern)
        if pattern == ALL or pattern in types:
            continue
        if pattern.endswith(".*"):
            prefix = pattern[:-1]
            if "*" not in prefix and any(t.startswith(prefix) for t in types):
                continue
            errors.setdefault(where, []).append(f"{pattern!r} matches no event type in the catalog")
            continue
        errors.setdefault(where, []).append(
            f"unknown event type {pattern!r}; use a catalog type, a pattern like 'consensus.*', or '*'"
        )
    return errors


def subscription_matches(*, patterns: list[str], event_type: str) -> bool:
    for pattern in patterns:
        if pattern == ALL or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def host_private_reason(host: str, port: int) -> str | None:
    """Why `host` is not a public address (None when every address it resolves to is public)."""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return "must not point to localhost"
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return f"host {host!r} does not resolve"
    addresses = sorted({info[4][0] for info in infos})
    private = [a for a in addresses if not address_is_public(a)]
    if private:
        return f"must point to a public address; {host!r} resolves to {', '.join(private)}"
    return None


def url_errors(url: str, *, allow_private: bool) -> list[str]:
    """Reasons the URL cannot receive webhooks (empty when it can)."""
    if len(url) > 2000:
        return ["must be at most 2000 characters"]
    if any(c.isspace() for c in url) or any(ord(c) < 32 for c in url):
        return ["must not contain whitespace or control characters"]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return [f"is not a valid URL: {exc}"]
    if parts.scheme not in ("http", "https"):
        return ["must be an http:// or https:// URL"]
    if not parts.hostname:
        return ["must name a host"]
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return ["must not contain credentials (user:password@); authenticate with the signature instead"]
    if parts.fragment:
        return ["must not contain a fragment (#...)"]
    if allow_private:
        return []
    reason = host_private_reason(parts.hostname, port or (443 if parts.scheme == "https" else 80))
    return [reason] if reason else []
