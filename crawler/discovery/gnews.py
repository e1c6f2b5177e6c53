"""Google News article links whose id hides the publisher's URL (`…/rss/articles/CBMi…AU_yqL…`).

Since 2024 such an id is an opaque key: the link answers 200 with a page that carries a
signature and a timestamp (`data-n-a-sg`, `data-n-a-ts`), and Google's `batchexecute`
endpoint exchanges id + signature + timestamp for the URL. The protocol follows the
maintained `googlenewsdecoder` package (MIT); we do not depend on it because it makes
its own HTTP requests to a fixed host, outside our fetch policy and cadence, and so
cannot run against a loopback fixture. Here the two requests are ordinary crawler
requests; this module only builds and reads them (pure functions).
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlsplit, urlunsplit

BATCHEXECUTE_PATH = "/_/DotsSplashUi/data/batchexecute"
_SIGNATURE = re.compile(r'data-n-a-sg="([^"]+)"')
_TIMESTAMP = re.compile(r'data-n-a-ts="([^"]+)"')
# The request context Google's own page sends (as googlenewsdecoder 0.2.x does).
_CONTEXT = [
    ["X", "X", ["X", "X"], None, None, 1, 1, "US:en", None, 1, None, None, None, None, None, 0, 1],
    "X", "X", 1, [1, 1, 1], 1, 1, None, 0, 0, None, 0,
]


def article_id(url: str) -> str | None:
    """The id of a Google News article link (`/articles/<id>`, `/rss/articles/<id>`, `/read/<id>`)."""
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if len(segments) >= 2 and segments[-2] in ("articles", "read"):
        return segments[-1]
    return None


def decoding_params(html: str) -> tuple[str, str] | None:
    """(signature, timestamp) from an article link's page, or None when the page has none."""
    signature, timestamp = _SIGNATURE.search(html), _TIMESTAMP.search(html)
    if signature is None or timestamp is None:
        return None
    return signature.group(1), timestamp.group(1)


def batchexecute_request(link: str, article: str, signature: str, timestamp: str) -> tuple[str, str]:
    """The (URL, form body) of the POST that exchanges an id for its URL, on the link's own host."""
    parts = urlsplit(link)
    url = urlunsplit((parts.scheme, parts.netloc, BATCHEXECUTE_PATH, "", ""))
    inner = ["garturlreq", _CONTEXT, article, int(timestamp) if timestamp.isdigit() else timestamp, signature]
    envelope = [[["Fbv4je", json.dumps(inner, separators=(",", ":")), None, "0"]]]
    return url, "f.req=" + quote(json.dumps(envelope, separators=(",", ":")))


def parse_batchexecute(text: str) -> str | None:
    """The publisher URL in a batchexecute answer, or None when it holds none."""
    body = text.split("\n\n", 1)[1] if "\n\n" in text else text
    body = body.lstrip()
    if body.startswith(")]}'"):
        body = body[4:].lstrip()
    try:
        rows = json.loads(body)
    except json.JSONDecodeError:
        return None
    for row in rows if isinstance(rows, list) else []:
        if not (isinstance(row, list) and len(row) >= 3 and row[0] == "wrb.fr" and isinstance(row[2], str)):
            continue
        try:
            payload = json.loads(row[2])
        except json.JSONDecodeError:
            continue
        if isinstance(payload, list) and len(payload) > 1 and payload[0] == "garturlres" and isinstance(payload[1], str):
            url = payload[1]
            if url.startswith(("http://", "https://")):
                return url
    return None

