"""URL canonicalisation: one spelling per article, so it is stored and fetched once."""

from __future__ import annotations

import posixpath
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import idna

# Query parameters that identify a campaign or a sharer, never the article.
TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|spm|from|fromsource|share_?token|share_?from|scene|isappinstalled|fbclid|gclid|"
    r"dclid|msclkid|yclid|mc_cid|mc_eid|igshid|ref|ref_src|cmpid|ncid|ocid|_ga|wt\.mc_id|s_kwcid)$",
    re.IGNORECASE,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonicalize_url(url: str) -> str:
    """One spelling per article: lower-case ASCII host, no fragment, no tracking or default port,
    no dot-segments, sorted query, no trailing slash (except the root)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = _ascii_host((parts.hostname or "").lower().rstrip("."))
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    if _DOT_SEGMENT.search(path):
        # RFC 3986 §5.2.4: "/news/list/../a.html" is "/news/a.html", and no ".." climbs above the root.
        path = posixpath.normpath(path)
    if len(path) > 1 and path.endswith("/"):
        # Spaces left at the end would be stripped from the URL next time: one spelling needs them gone now.
        path = re.sub(r"[/\s]+$", "", path) or "/"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING_PARAMS.match(k)]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query), doseq=True), ""))


_DOT_SEGMENT = re.compile(r"/\.\.?(?:/|$)")


def _ascii_host(host: str) -> str:
    """A Unicode host as the punycode Scrapy fetches (中国.cn → xn--fiqs8s.cn), so both spellings are one.

    A host IDNA cannot encode is kept as written: its fetch fails and says why.
    """
    if host.isascii():
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except UnicodeError:  # idna.IDNAError and what the codec under it raises
        return host


def document_base(root: Any, page_url: str) -> str:
    """The URL a page's relative links are read against: its first `<base href>` when that is http(s), else its URL.

    `root` is the parsed page (an lxml element), as a browser reads it.
    """
    for base in root.iterfind(".//base[@href]"):
        candidate = urljoin(page_url, (base.get("href") or "").strip())
        if candidate.lower().startswith(("http://", "https://")):
            return candidate
        break
    return page_url

