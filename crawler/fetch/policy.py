"""The fetch policy: which URLs may be fetched at all, checked before any byte is sent.

Only http(s) URLs are fetched, and hosts that resolve to private, loopback,
link-local or reserved addresses are refused unless the source allows them
(`allow_private`, needed for fixtures on 127.0.0.1). The host is resolved here, so
a public-looking name that points inside the network is caught too. Every request
the crawler makes (feeds, pages, redirects, robots.txt) passes through
`crawler.fetch.middleware`, which applies this policy; nothing else fetches.

The conditional-GET request headers live here too: every fetch that can be
answered 304 (a feed, a listing, a sitemap, an article being re-checked) builds
them with `conditional_headers`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from storage.errors import ForbiddenURLError


def check_scheme(url: str) -> None:
    """Refuse anything that is not http(s) with a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ForbiddenURLError(f"only http(s) URLs are fetched, not {url!r}")


def is_public_address(address: str) -> bool:
    """True for globally routable addresses; False for private, loopback, link-local and reserved."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_addresses(url: str, addresses: Iterable[str], *, allow_private: bool) -> None:
    """Refuse a URL whose host resolves to a non-public address, unless allowed."""
    if allow_private:
        return
    for address in addresses:
        if not is_public_address(address):
            raise ForbiddenURLError(
                f"{url}: host resolves to non-public address {address}; "
                "set allow_private = true on the source to allow it"
            )


def host_literal(url: str) -> str | None:
    """The host if it is an IP literal, else None."""
    host = urlsplit(url).hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return host


async def resolve(url: str) -> list[str]:
    """The addresses the URL's host resolves to ([] if it does not resolve: the download then fails)."""
    literal = host_literal(url)
    if literal:
        return [literal]
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return [str(info[4][0]) for info in infos]


async def check_url(url: str, *, allow_private: bool) -> None:
    """Raise ForbiddenURLError unless `url` may be fetched under the policy."""
    check_scheme(url)
    check_addresses(url, await resolve(url), allow_private=allow_private)


def conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    """If-None-Match / If-Modified-Since from what the last response said, for a 304 when nothing changed."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers
