"""One-off page fetches for `mediawatch extract URL`, under the same fetch policy as the crawler."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from crawler.urls import check_addresses, check_scheme, host_literal
from storage.errors import FetchError


def _check_policy(url: str, allow_private: bool) -> None:
    check_scheme(url)
    parts = urlsplit(url)
    literal = host_literal(url)
    if literal:
        addresses = [literal]
    else:
        try:
            infos = socket.getaddrinfo(parts.hostname, parts.port or 80, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise FetchError(f"{url}: cannot resolve host: {exc}") from exc
        addresses = [str(i[4][0]) for i in infos]
    check_addresses(url, addresses, allow_private=allow_private)


class _PolicyRedirectHandler(urllib.request.HTTPRedirectHandler):
    """Re-apply the fetch policy to every redirect target."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        _check_policy(newurl, self.allow_private)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch_page(
    url: str,
    *,
    user_agent: str,
    allow_private: bool = False,
    timeout: float = 30.0,
    max_bytes: int = 10 * 1024 * 1024,
) -> tuple[bytes, str | None, str]:
    """GET one page; return (body, Content-Type, final URL)."""
    _check_policy(url, allow_private)
    opener = urllib.request.build_opener(_PolicyRedirectHandler(allow_private))
    request = urllib.request.Request(url, headers={"User-Agent": user_agent})
    try:
        with opener.open(request, timeout=timeout) as response:
            body = response.read(max_bytes + 1)
            if len(body) > max_bytes:
                raise FetchError(f"{url}: page is larger than {max_bytes} bytes")
            return body, response.headers.get("Content-Type"), response.geturl()
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{url}: HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise FetchError(f"{url}: {getattr(exc, 'reason', exc)}") from exc
