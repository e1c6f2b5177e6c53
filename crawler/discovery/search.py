"""News-search sources: the query a topic asks an engine, and the publisher behind an engine link.

No I/O here: a topic and a source in, a query string out; an engine link in, the
publisher's URL out (or None when only the engine can tell, by a redirect or an answer).

Engine links come in three shapes:
- a wrapper carrying the target in a query parameter (Bing's `apiclick.aspx?url=…`,
  Google's `/url?q=…`), decoded here without a request;
- a Google News article link (`news.google.com/rss/articles/<id>`), whose id is a
  protobuf that older links carry the publisher URL in, in the clear: decoded here;
  newer ids (`AU_yqL…`) are opaque: the link's page and one `batchexecute` request
  resolve them (`crawler.discovery.gnews`, `gnews_decode_request`);
- a plain HTTP redirect, followed by the downloader like any other 3xx (the fetch
  policy checks every hop).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from urllib.parse import parse_qs, quote, urlsplit

from scrapy import Request
from scrapy.http import Response, TextResponse

from crawler.config import SourceConfig
from crawler.discovery import gnews
from crawler.topics.config import TopicConfig

# Hosts whose links are never a publisher's: a response still on one is an unresolved engine link.
ENGINE_HOSTS = ("news.google.com", "www.google.com", "google.com", "www.bing.com", "bing.com", "cn.bing.com")
WRAPPER_PARAMS = ("url", "u", "q", "target")
MAX_QUERY_ALIASES = 12  # engines cap query length: each term's main spelling comes first, then the others
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_URL_IN_BYTES = re.compile(rb"https?://[\x21-\x7e]+")


def _converter(edition: str) -> str | None:
    return {"zh-TW": "s2tw", "zh-HK": "s2hk"}.get(edition)


def script_variants(alias: str, edition: str) -> list[str]:
    """The alias as readers of `edition` write it: traditional for zh-TW/zh-HK, plus the original."""
    config = _converter(edition)
    if config is None or not _CJK.search(alias):
        return [alias]
    import opencc

    converted = str(opencc.OpenCC(config).convert(alias))
    return [converted, alias] if converted != alias else [alias]


def _fits_edition(alias: str, edition: str) -> bool:
    # A Chinese edition is asked in Chinese, the English one in Latin script.
    return bool(_CJK.search(alias)) == edition.startswith("zh")


def _quote_term(term: str) -> str:
    # A term written in quotes ("“小龙”") or with spaces is a phrase: engines take it in straight quotes.
    inner = term.strip("“”\"'「」")
    return f'"{inner}"' if inner != term or " " in inner else inner


def _or_group(terms: Sequence[Sequence[str]], edition: str) -> str | None:
    fitting = [[a for a in aliases if _fits_edition(a, edition)] for aliases in terms]
    # Each term's first spelling in the edition's language, then the terms' other spellings.
    ordered = [aliases[0] for aliases in fitting if aliases] + [a for aliases in fitting for a in aliases[1:]]
    chosen: list[str] = []
    for alias in ordered:
        for variant in script_variants(alias, edition):
            term = _quote_term(variant)
            if term and term not in chosen:
                chosen.append(term)
    chosen = chosen[:MAX_QUERY_ALIASES]
    if not chosen:
        return None
    return chosen[0] if len(chosen) == 1 else "(" + " OR ".join(chosen) + ")"


def build_query(topic: TopicConfig, source: SourceConfig) -> str | None:
    """The search query for `topic` in the source's edition, or None when no term fits that language.

    `query` is used verbatim. Otherwise the groups in `query_groups` are ANDed, each an
    OR of its terms' aliases; by default the topic's keywords, else its heaviest any/all
    group. Chinese editions get the script their readers use (s2tw/s2hk) alongside the
    original, so a Taiwan edition is asked for 六小龍 as well as 六小龙.
    """
    if source.query:
        return source.query
    groups: list[list[list[str]]] = []  # groups of terms of aliases
    if source.query_groups:
        by_name = {g.name: g for g in topic.groups}
        for name in source.query_groups:
            group = by_name.get(name)
            if group is not None:
                groups.append(group.terms)
    elif topic.keywords:
        groups.append([keyword.split("|") for keyword in topic.keywords])
    else:
        positive = [g for g in topic.groups if g.mode != "none"]
        if positive:
            groups.append(max(positive, key=lambda g: g.weight).terms)
    parts = [part for group in groups if (part := _or_group(group, source.edition))]
    if len(parts) != len(groups) or not parts:
        return None
    query = " ".join(parts)
    return query[1:-1] if len(parts) == 1 and query.startswith("(") else query


def search_url(template: str, query: str) -> str:
    """The template with {query} replaced by the URL-encoded query."""
    return template.replace("{query}", quote(query, safe=""))


def search_urls(source: SourceConfig, topics: Sequence[TopicConfig]) -> list[str]:
    """One result-page URL per distinct query the source asks for its topics."""
    queries: list[str] = []
    if source.query:
        queries.append(source.query)
    else:
        for topic in topics:
            query = build_query(topic, source)
            if query and query not in queries:
                queries.append(query)
    return [search_url(source.url, query) for query in queries]


def is_engine_url(url: str, engine_hosts: Iterable[str] = ()) -> bool:
    """On a known engine, or on one of `engine_hosts` (a "host" or a "host:port")."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    extra = {h.lower() for h in engine_hosts}
    return host in ENGINE_HOSTS or host in extra or parts.netloc.lower() in extra


def unwrap_engine_link(url: str, engine_hosts: Iterable[str] = ()) -> str | None:
    """The publisher URL an engine link points at, when it can be read off the link itself.

    Returns the URL unchanged when it is not on an engine host (already a publisher's),
    the decoded target for wrappers and old-style Google News ids, and None when only
    following the link can tell.
    """
    hosts = tuple(engine_hosts)
    if not is_engine_url(url, hosts):
        return url
    parts = urlsplit(url)
    params = parse_qs(parts.query)
    for name in WRAPPER_PARAMS:
        for value in params.get(name, []):
            if value.startswith(("http://", "https://")) and not is_engine_url(value, hosts):
                return value
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) >= 2 and segments[-2] in ("articles", "read"):
        return decode_google_news_id(segments[-1])
    return None


def decode_google_news_id(article_id: str) -> str | None:
    """The publisher URL inside an old-style Google News article id (base64 protobuf), else None.

    Newer ids (`AU_yqL…` inside) hold only an opaque key that Google's own servers map to
    the URL; those are left to the HTTP redirect.
    """
    padded = article_id + "=" * (-len(article_id) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded)
    except (binascii.Error, ValueError):
        return None
    match = _URL_IN_BYTES.search(raw)
    if match is None or b"AU_yqL" in raw:
        return None
    url = match.group(0).decode("ascii")
    return url if urlsplit(url).hostname else None


# Scheduling slack: a daemon tick that lands a few seconds early is not a second request.
CADENCE_SLACK = timedelta(minutes=1)


def engine_due(last_asked: datetime | None, now: datetime, every: timedelta) -> bool:
    """Whether an engine may be asked again: never asked, or at least `every` (less a minute) ago."""
    return last_asked is None or now - last_asked >= every - CADENCE_SLACK


def gnews_decode_request(response: Response) -> Request | None:
    """The batchexecute POST that resolves a Google News article page's id, or None if it is not one."""
    article = gnews.article_id(response.url)
    params = gnews.decoding_params(response.text) if article and isinstance(response, TextResponse) else None
    if article is None or params is None:
        return None
    url, body = gnews.batchexecute_request(response.url, article, *params)
    return Request(
        url, method="POST", body=body, dont_filter=True,
        headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"},
        meta={"mediawatch_role": "engine-link"},
    )


# Results published this long before the engine was last asked were in that answer too, and
# were resolved then: their engine links are not requested again (each costs the engine a hit).
RESULT_MEMORY = timedelta(days=1)


def worth_resolving(published: datetime | None, last_asked: datetime | None) -> bool:
    """Whether an engine link must be resolved by asking the engine, given when the engine was last asked."""
    return published is None or last_asked is None or published >= last_asked - RESULT_MEMORY
