"""Outlets: the publisher behind a URL, and host allow/deny patterns.

An outlet is named by its host without a leading "www.", so www.jnnews.tv and
jnnews.tv are one outlet (a non-default port stays part of the name: two servers on
one address are two outlets, which is how the loopback fixtures tell them apart); a pattern "*.example.com" matches example.com and every
subdomain of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def outlet_of(url: str) -> str:
    """The outlet a URL belongs to: its lower-case host without "www.", with a non-default port."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".").removeprefix("www.")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and _DEFAULT_PORTS.get(parts.scheme.lower()) != port:
        return f"{host}:{port}"
    return host


def host_matches(host: str, patterns: Iterable[str]) -> bool:
    """True when `host` (an outlet name or a host) matches one of the patterns."""
    host = host.lower().removeprefix("www.")
    for pattern in patterns:
        pattern = pattern.strip().lower().removeprefix("www.")
        if not pattern:
            continue
        if pattern.startswith("*."):
            base = pattern[2:]
            if host == base or host.endswith("." + base):
                return True
        elif host == pattern:
            return True
    return False
