"""URL canonicalisation and the fetch policy (which URLs may be fetched at all)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from storage.errors import ForbiddenURLError

# Query parameters that identify a campaign or a sharer, never the article.
TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|spm|from|fromsource|share_?token|share_?from|scene|isappinstalled|fbclid|gclid|"
    r"dclid|msclkid|yclid|mc_cid|mc_eid|igshid|ref|ref_src|cmpid|ncid|ocid|_ga|wt\.mc_id|s_kwcid)$",
    re.IGNORECASE,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonicalize_url(url: str) -> str:
    """One spelling per article: lower-case host, no fragment, no tracking or default port,
    sorted query, no trailing slash (except the root)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING_PARAMS.match(k)]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query), doseq=True), ""))


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
