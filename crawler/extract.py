"""Turn one article page (bytes) into an :class:`ExtractedArticle`: text, title, date, author, language.

trafilatura finds the main text; the metadata rules here are tuned for Chinese
news sites, where trafilatura's own guesses are weakest: titles carry channel
and site suffixes (``标题_财经_江南日报``), the date worth having sits in a
byline under the headline while the footer holds ``© 2008-2025``, and the
article ends in ``责任编辑`` / ICP lines. Pure: bytes and hints in, a value out.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Iterator
from datetime import date, datetime, time, tzinfo
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

import lxml.etree
import lxml.html
import opencc
import trafilatura

from crawler.decode import decode_page
from storage.errors import NoArticleError
from storage.types import ExtractedArticle

logger = logging.getLogger(__name__)

# Below these sizes a "text" is a caption, a teaser or a cookie banner.
MIN_HAN_CHARS = 50
MIN_WORDS = 30
# Share of Han characters that OpenCC t2s changes in traditional text is
# ~20-30%; simplified text changes a handful of ambiguous characters at most.
TRADITIONAL_SHARE = 0.02
# How far after (and before) the headline a byline date may sit, in characters.
BYLINE_AFTER = 500
BYLINE_BEFORE = 200

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_LATIN = re.compile(r"[A-Za-z]")
_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")
_ANY_WORD = re.compile(r"[^\W\d_]+")  # letters of any script: Korean and Russian pages count too
# fmt: off
_EN_FUNCTION_WORDS = frozenset({
    "the", "and", "of", "to", "in", "is", "that", "for", "it", "was", "on", "with", "as", "by", "at",
    "from", "he", "she", "said", "are", "be", "has", "have", "his", "her", "they", "an", "this", "not",
    "but", "which",
})
# fmt: on

_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "footer", "select", "option"})
_FOOTERISH = re.compile(r"foot|copyright|copy-right|bottom", re.IGNORECASE)
_BYLINE_CLASS = re.compile(r"time|date|pub|byline|author|source|info|meta|writer|editor", re.IGNORECASE)
_COPYRIGHT = re.compile(r"©|\(c\)|copyright|版权|all rights reserved", re.IGNORECASE)

_TIME = r"(?:\s*|T)(?P<h>\d{1,2})[:：](?P<mi>\d{2})(?:[:：](?P<s>\d{2}))?(?:\s*(?P<ampm>[AaPp][Mm]))?"
# fmt: off
_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9,
    "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}
# fmt: on
_RFC2822 = re.compile(r"(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:\d{2}")
_MONTH_NAME = "(?P<mon>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DATE_PATTERNS = (
    re.compile(rf"(?<!\d)(?P<y>\d{{4}})\s*年\s*(?P<m>\d{{1,2}})\s*月\s*(?P<d>\d{{1,2}})\s*日(?:{_TIME})?"),
    re.compile(
        rf"(?<![\d.])(?P<y>\d{{4}})(?P<sep>[-/.])(?P<m>\d{{1,2}})(?P=sep)(?P<d>\d{{1,2}})(?!\d)(?:{_TIME})?"
    ),
    re.compile(rf"\b{_MONTH_NAME}\s+(?P<d>\d{{1,2}}),?\s+(?P<y>\d{{4}})\b(?:,?\s*(?:at\s*)?{_TIME})?", re.I),
    re.compile(rf"\b(?P<d>\d{{1,2}})\s+{_MONTH_NAME}\s+(?P<y>\d{{4}})\b(?:,?\s*{_TIME})?", re.I),
    # Two-digit years only after a label, as on Baidu's 百家号: "发布时间：18-03-08 21:30".
    re.compile(rf"时间\s*[:：]\s*(?P<yy>\d{{2}})-(?P<m>\d{{1,2}})-(?P<d>\d{{1,2}})(?!\d)(?:{_TIME})?"),
)

# <meta> names/properties that carry the publication time, most specific first.
# fmt: off
_DATE_META = (
    "article:published_time", "og:published_time", "og:article:published_time", "published_time",
    "datepublished", "pubdate", "publishdate", "publish_date", "publish-date", "pubtime", "publishtime",
    "og:release_date", "apub:time", "og:time", "weibo:article:create_at", "dc.date.issued",
    "dcterms.issued", "dc.date", "sailthru.date", "parsely-pub-date",
)
# fmt: on
_AUTHOR_META = ("author", "article:author", "byl", "dc.creator", "sailthru.author", "parsely-author")

_UNSPACED_SITE_SUFFIX = re.compile(
    r"(?<![-\s])-[^-\s]{1,12}(?:网|网站|官网|日报|晚报|早报|新闻|频道|在线|门户|客户端)$"
)
_TITLE_SEPARATOR = re.compile(r"\s*(?:[_|｜]|::|\s[-–—·]\s|--)\s*")
_CJK_NAME = re.compile(r"^(?:[\u4e00-\u9fff]{2,4}|[\u4e00-\u9fff]{1,6}·[\u4e00-\u9fff]{1,8})$")
_CJK_BYLINE = re.compile(r"(?:作者|撰文|记者)\s*[:：]?\s*|(?<![\u4e00-\u9fff])文\s*[/|｜]\s*")
_NAME_SUFFIX = re.compile(r"(?:报道|报导|摄影?|发自.*|综合.*|编译|整理|采写|实习生.*|通讯员.*)$")
# Words that follow 记者/作者 in bylines but are not names.
# fmt: off
_NOT_NAMES = frozenset({
    "整合", "综合", "报道", "报导", "摄影", "编辑", "编译", "整理", "采写", "通讯员", "实习生",
    "见习记者", "特约记者", "供图", "制图", "简介", "未知", "佚名", "匿名", "小编", "本站",
    "网友", "本人", "获悉", "了解到", "注意到", "发现", "看到", "采访", "近日", "日前", "昨天", "今天", "今日",
})
# fmt: on
# Strings that metadata extractors take for authors on Chinese pages.
_NOT_AUTHOR = re.compile(r"[:：;；|]|\d|编辑|来源|版权|关注|授权|复制|链接|播报|网友|企鹅号|admin", re.I)
_EN_BYLINE = re.compile(
    r"\bBy\s+(?P<name>[A-Z][\w.'’-]+(?:\s+(?:[A-Z][\w.'’-]+|de|van|von|der|la))"
    r"{0,3}(?:\s*(?:,|and|&)\s*[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3})*)"
)

# Lines at the head or tail of Chinese articles that are not the article.
_BOILERPLATE = re.compile(
    r"^[\s(（\[【]*(?:责任编辑|责编|编辑|来源|本文来源|文章来源|稿件来源|校对|审核|监制)\s*[:：]"
    r"|版权所有|版权声明|本文转载自|转载请注明|ICP\s*[备证]?\s*\d|ICP备|公网安备|分享到|分享至"
    r"|^[\s(（\[【]*(?:©|copyright\b)",
    re.IGNORECASE,
)
_BOILERPLATE_MAX_LEN = 120
_DATELINE_WORDS = re.compile(r"来源|记者|作者|编辑|\bBy\s+[A-Z]|\bUpdated\b|发布|更新", re.I)
_END_OF_ARTICLE = re.compile(
    r"^[-\s(（\[【]*(?:责任编辑|责编)\s*[:：]|^[-\s]*分享[到至]\s*[:：]?\s*$|^网友评论仅供"
    r"|^[-\s]*(?:热门推荐|为您推荐|相关推荐|猜你喜欢|热点新闻)\s*$"
)


def extract_article(
    body: bytes,
    url: str,
    content_type: str | None = None,
    *,
    published_hint: datetime | None = None,
    title_hint: str | None = None,
    local_tz: tzinfo = ZoneInfo("Asia/Shanghai"),
) -> ExtractedArticle:
    """Extract the article of one page; raise NoArticleError if it holds no article text."""
    page = decode_page(body, content_type)
    tree = _parse(page.text)
    if tree is None:
        raise NoArticleError(f"no article text found in {url}")

    found, text = _main_text(tree, url)
    layout_table = _is_mostly_table(text)
    if layout_table or not _is_substantial(text):
        logger.debug("trafilatura found too little or a layout table in %s, trying text density", url)
        fallback = _clean_text(_densest_paragraphs(tree))
        if (layout_table and _is_substantial(fallback)) or _text_size(fallback) > _text_size(text):
            text = fallback
    if not _is_substantial(text):
        raise NoArticleError(f"no article text found in {url}")

    meta = _meta_tags(tree)
    title = _choose_title(tree, meta, title_hint, found.get("title"))
    # Without the headline, a dateline under it becomes the head: clean again.
    text = _clean_text(_drop_leading_title(text, title))
    zone = _byline_zone(tree, title)
    published = _choose_published(
        tree, meta, zone, published_hint, found.get("date"), page.text, url, local_tz
    )
    author = _choose_author(tree, meta, zone, text, found.get("author"))
    language = _choose_language(tree, title + "\n" + text)
    logger.debug("extracted %s: %d chars, published %s, lang %s", url, len(text), published, language)
    return ExtractedArticle(
        url=url,
        title=title,
        text=text,
        author=author,
        published=published,
        language=language,
        encoding=page.encoding,
    )


# --- parsing ---------------------------------------------------------------------------------


def _parse(text: str) -> lxml.html.HtmlElement | None:
    # Parse UTF-8 bytes with the encoding forced, so that a <meta charset>
    # left over from the page's original encoding cannot re-decode it.
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    try:
        return lxml.html.document_fromstring(text.encode("utf-8", "surrogatepass"), parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return None


def _squash(value: str | None) -> str:
    return " ".join(value.split()) if value else ""


def _meta_tags(tree: lxml.html.HtmlElement) -> dict[str, str]:
    """First non-empty content of each <meta>, keyed by lower-cased name/property/itemprop."""
    tags: dict[str, str] = {}
    for element in tree.iter("meta"):
        content = _squash(element.get("content"))
        if not content:
            continue
        for attribute in ("property", "name", "itemprop", "http-equiv"):
            # Spaces occur in real keys ("weibo: article:create_at", "og:time ").
            key = "".join((element.get(attribute) or "").split()).lower()
            if key:
                tags.setdefault(key, content)
    return tags


def _json_ld(tree: lxml.html.HtmlElement) -> Iterator[dict]:
    """Every JSON object found in the page's JSON-LD scripts, depth first."""
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        stack = [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, list):
                stack[:0] = item
            elif isinstance(item, dict):
                yield item
                stack[:0] = [v for k, v in item.items() if k in ("@graph", "mainEntity", "itemListElement")]


# --- text ------------------------------------------------------------------------------------


def _main_text(tree: lxml.html.HtmlElement, url: str) -> tuple[dict, str]:
    """Run trafilatura twice and keep the better text, plus its metadata.

    favor_precision drops the related-news lists that the default mode keeps
    (on guancha.cn only a fifth of the default text was article), but on some
    portals (163.com) it keeps the comment box and loses the whole article.
    Measured on the public corpora, taking the precise text unless it holds
    much less prose than the default one beat either mode alone (GNE, AEB,
    readability CJK pages). Metadata does not depend on the mode: read it once.
    """
    texts = []
    found: dict = {}
    for favor_precision in (True, False):
        # trafilatura prunes the tree it is given, and our own rules need the whole page.
        document = trafilatura.bare_extraction(
            copy.deepcopy(tree),
            url=url,
            with_metadata=favor_precision,
            include_comments=False,
            favor_precision=favor_precision,
            # No free-text date search: that is where footer copyright years come from.
            date_extraction_params={"original_date": True, "extensive_search": False},
        )
        result = document.as_dict() if document is not None else {}
        found = found or result
        texts.append(_clean_text(result.get("text") or ""))
    precise, broad = texts
    return found, precise if _prose_chars(precise) * 2 >= _prose_chars(broad) else broad


_SENTENCE_PUNCTUATION = re.compile(r"[，。；！？、,.;!?]")


def _prose_chars(text: str) -> int:
    """Characters in lines that read like sentences rather than lists of headlines."""
    total = 0
    for line in text.splitlines():
        if len(line) < 20 or line.startswith("- "):
            continue
        # Running text has a comma or full stop every few dozen characters;
        # headlines glued together have almost none.
        if len(_SENTENCE_PUNCTUATION.findall(line)) * 60 >= len(line):
            total += len(line)
    return total


def _is_substantial(text: str) -> bool:
    return len(_HAN.findall(text)) >= MIN_HAN_CHARS or len(_ANY_WORD.findall(text)) >= MIN_WORDS


def _is_mostly_table(text: str) -> bool:
    """True when the text is mostly "| cell | cell |" rows.

    Old government and local-paper CMSs lay the whole page out in tables;
    trafilatura then returns the navigation and the article as one big table.
    """
    rows = sum(len(line) for line in text.splitlines() if line.startswith("|"))
    return rows * 2 > len(text)


def _text_size(text: str) -> int:
    return len(_HAN.findall(text)) + len(_ANY_WORD.findall(text))


def _clean_text(text: str) -> str:
    """One paragraph per line, without boilerplate lines at the head or tail."""
    lines = [_squash(line) for line in text.splitlines()]
    lines = [line for line in lines if line]
    # Match the (simplified-Chinese) patterns on a simplified copy, so that
    # 責任編輯 and 版權所有 on Traditional pages are caught too.
    simple = _simplified_lines(lines)
    # Chinese articles end with the editor's name or the share buttons; what
    # follows is comments and related news, however article-like it looks.
    for index, line in enumerate(simple):
        if _END_OF_ARTICLE.search(line) and _is_substantial("\n".join(lines[:index])):
            del lines[index:], simple[index:]
            break
    start, end = 0, len(lines)
    while start < end and (_is_boilerplate(simple[start]) or _is_byline_line(simple[start])):
        start += 1
    while end > start and _is_boilerplate(simple[end - 1]):
        end -= 1
    return "\n".join(lines[start:end])


def _simplified_lines(lines: list[str]) -> list[str]:
    converted = _t2s().convert("\n".join(lines)).split("\n")
    return converted if len(converted) == len(lines) else lines


def _is_boilerplate(line: str) -> bool:
    return len(line) <= _BOILERPLATE_MAX_LEN and _BOILERPLATE.search(line) is not None


def _is_byline_line(line: str) -> bool:
    """A short line at the head of the text holding a date, a byline, or both."""
    if len(line) > 80 or re.search(r"[，。！？]", line):
        return False
    if len(line) <= 40 and byline_author(line) is not None:
        return True
    if not _find_dates(line):
        return False
    rest = line
    for pattern in _DATE_PATTERNS:
        rest = pattern.sub("", rest)
    return len(rest.strip()) <= 12 or _DATELINE_WORDS.search(rest) is not None


def _drop_leading_title(text: str, title: str) -> str:
    # The headline is stored apart; repeating it as the first paragraph makes
    # digests and near-duplicate detection worse.
    first, _, rest = text.partition("\n")
    if title and rest and _squash(first) == _squash(title):
        return rest
    return text


def _densest_paragraphs(tree: lxml.html.HtmlElement) -> str:
    """The text blocks under the element that gathers the most non-link text (readability-style).

    A fallback for pages trafilatura gives up on: old CMS pages hold the
    article as <br>-separated text in one table cell, WeChat articles as
    nested <section>s without a single <p>.
    """
    blocks: list[tuple[lxml.html.HtmlElement, str]] = []
    scores: dict[lxml.html.HtmlElement, float] = {}
    for element in tree.iter(*_TEXT_BLOCKS):
        # Only innermost blocks: outer ones would count the same text twice.
        if next(element.iterdescendants(*_TEXT_BLOCKS), None) is not None:
            continue
        if _is_skipped(element) or _in_skipped(element):
            continue
        paragraph = _block_text(element)
        links = sum(len(_squash(a.text_content())) for a in element.iter("a"))
        if len(paragraph) < 10 or links * 2 > len(paragraph):
            continue
        blocks.append((element, paragraph))
        parent = element.getparent()
        if parent is not None:
            scores[parent] = scores.get(parent, 0) + len(paragraph)
            grandparent = parent.getparent()
            if grandparent is not None:
                scores[grandparent] = scores.get(grandparent, 0) + len(paragraph) / 2
    if not scores:
        return ""
    best = max(scores, key=scores.__getitem__)
    inside = {id(element) for element in best.iterdescendants()}
    return "\n".join(paragraph for element, paragraph in blocks if id(element) in inside)


_TEXT_BLOCKS = ("p", "div", "section", "td", "li", "blockquote", "article", "pre")


def _block_text(element: lxml.html.HtmlElement) -> str:
    """The element's text with <br> as line breaks and other whitespace squashed."""
    pieces: list[str] = []
    for node in element.iter():
        if node is not element and node.tag == "br":
            pieces.append("\n")
        elif node.text and node.tag not in _SKIP_TAGS and isinstance(node.tag, str):
            pieces.append(node.text)
        if node is not element and node.tail:
            pieces.append(node.tail)
    return "\n".join(_squash(line) for line in "".join(pieces).split("\n") if line.strip())


def _in_skipped(element: lxml.html.HtmlElement) -> bool:
    return any(_is_skipped(ancestor) for ancestor in element.iterancestors())


def _is_skipped(element: lxml.html.HtmlElement) -> bool:
    if not isinstance(element.tag, str):
        return True
    if element.tag in _SKIP_TAGS or element.tag == "nav":
        return True
    marker = f"{element.get('class', '')} {element.get('id', '')}"
    return bool(_FOOTERISH.search(marker))


# --- title -----------------------------------------------------------------------------------


def strip_site_suffix(title: str) -> str:
    """Drop trailing ``_频道_网站`` / `` - Site Name`` segments from a <title>.

    >>> strip_site_suffix("标题文字在这里_财经_江南日报")
    '标题文字在这里'
    """
    title = _squash(title)
    parts = [part for part in _TITLE_SEPARATOR.split(title) if part]
    while len(parts) > 1 and _looks_like_site_name(parts[-1], parts[0]):
        parts.pop()
    if not parts:
        return ""
    # Keep the separators between the segments that stay.
    end = title.find(parts[-1], len(title) - len(title.lstrip())) + len(parts[-1])
    head = title[:end].strip() if len(parts) > 1 else parts[0]
    # An unspaced hyphen is too common inside headlines to split on, unless
    # what follows it is plainly a site name ("标题-新华网").
    match = _UNSPACED_SITE_SUFFIX.search(head)
    return head[: match.start()] if match and match.start() >= 4 else head


def _looks_like_site_name(segment: str, first: str) -> bool:
    # "… -- STOLEN!!!" is the end of a headline, not a site.
    if len(segment) >= len(first) or segment.endswith(("!", "?", "！", "？")):
        return False
    if _HAN.search(segment):
        return len(segment) <= 16
    return len(segment.split()) <= 5


def _overlaps(candidate: str, reference: str) -> bool:
    a, b = candidate.casefold(), reference.casefold()
    if not a or not b:
        return False
    return (a in b and len(a) * 2 >= len(b)) or b in a


def _choose_title(
    tree: lxml.html.HtmlElement, meta: dict[str, str], hint: str | None, found: str | None
) -> str:
    if hint and hint.strip():
        return _squash(hint)
    page_title = _squash(tree.findtext(".//title"))
    stripped = strip_site_suffix(page_title)
    candidates = [_squash(h1.text_content()) for h1 in tree.iter("h1")]
    candidates += [meta.get("og:title", ""), meta.get("twitter:title", "")]
    for candidate in candidates:
        candidate = strip_site_suffix(candidate)
        if stripped and _overlaps(candidate, stripped):
            # A headline cut short by a broken attribute (og:title="…"…) is a
            # prefix of the <title>; the <title> is then the better text.
            if stripped.startswith(candidate) and len(candidate) < len(stripped):
                rest = stripped[len(candidate) :]
                if rest[:1] not in ("_", "|", "｜", " ", "-"):
                    return stripped
            return candidate
    if stripped:
        return stripped
    for candidate in [*candidates, found or ""]:
        if candidate:
            return strip_site_suffix(candidate)
    return ""


# --- where the byline is ---------------------------------------------------------------------


class _Zone(NamedTuple):
    """Where bylines may be: around the headline, and in elements named for them."""

    headline: list[str]  # text after the headline, then text before it
    marked: list[str]  # elements whose class or id says time/date/source/author

    @property
    def all(self) -> list[str]:
        return self.headline + self.marked


def _byline_zone(tree: lxml.html.HtmlElement, title: str) -> _Zone:
    """Short texts where a byline may sit, nearest to the headline first.

    The page is flattened to text (without scripts, footers and copyright
    blocks) to find what follows and precedes the headline.
    """
    flat, start, end = _flatten(tree, _headline_element(tree, title))
    if start < 0 and title:
        start = flat.find(title)
        end = start + len(title) if start >= 0 else -1
    zone = _Zone([], [])
    if start >= 0:
        zone.headline.append(flat[end : end + BYLINE_AFTER])
        zone.headline.append(flat[max(0, start - BYLINE_BEFORE) : start])
    for element in tree.iter():
        if not isinstance(element.tag, str) or element.tag in ("html", "body"):
            continue
        marker = f"{element.get('class', '')} {element.get('id', '')}"
        if _BYLINE_CLASS.search(marker) and not _is_skipped(element) and not _in_skipped(element):
            text = _squash(element.text_content())
            if text and len(text) <= 200:
                zone.marked.append(text)
    return zone


# fmt: off
_BLOCK_TAGS = frozenset({
    "br", "p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "td", "tr", "table", "section",
    "article", "header", "aside", "dd", "dt", "blockquote",
})
# fmt: on


def _flatten(root: lxml.html.HtmlElement, anchor: lxml.html.HtmlElement | None) -> tuple[str, int, int]:
    """The visible text of the page in document order, one block per line.

    Also returns where ``anchor``'s text starts and ends in it (-1 if absent).
    Walks with an explicit stack: real pages nest deeper than Python recursion allows.
    """
    parts: list[str] = []
    size = 0
    start = end = -1
    stack: list[tuple[lxml.html.HtmlElement, bool]] = [(root, False)]
    while stack:
        element, leaving = stack.pop()
        emit: list[str | None] = []
        if leaving:
            if element is anchor:
                end = size
            emit = ["\n" if element.tag in _BLOCK_TAGS else " ", element.tail]
        elif _is_skipped(element):
            emit = ["\n", element.tail]
        else:
            if element is anchor:
                start = size
            emit = [element.text]
            stack.append((element, True))
            stack.extend((child, False) for child in reversed(element))
        for piece in emit:
            if piece:
                parts.append(piece)
                size += len(piece)
    return "".join(parts), start, end


def _headline_element(tree: lxml.html.HtmlElement, title: str) -> lxml.html.HtmlElement | None:
    if not title:
        return None
    for h1 in tree.iter("h1"):
        text = _squash(h1.text_content())
        if _overlaps(text, title) or _overlaps(title, text):
            return h1
    return None


# --- date ------------------------------------------------------------------------------------


def _choose_published(
    tree: lxml.html.HtmlElement,
    meta: dict[str, str],
    zone: _Zone,
    hint: datetime | None,
    found: str | None,
    page_text: str,
    url: str,
    local_tz: tzinfo,
) -> datetime | None:
    """Feed date, then publication meta/JSON-LD, then a byline date, then trafilatura's."""
    if hint is not None:
        return hint if hint.tzinfo is not None else hint.replace(tzinfo=local_tz)
    for key in _DATE_META:
        if key in meta and (parsed := parse_datetime(meta[key], local_tz)):
            return parsed
    for item in _json_ld(tree):
        value = item.get("datePublished")
        if isinstance(value, str) and (parsed := parse_datetime(value, local_tz)):
            return parsed
    for element in tree.iter("time"):
        marked = element.get("pubdate") is not None or element.get("itemprop") == "datePublished"
        if marked and (parsed := parse_datetime(element.get("datetime") or element.text_content(), local_tz)):
            return parsed
    for text in zone.all:
        if parsed := _first_byline_date(text, local_tz):
            return parsed
    for element in tree.iter("time"):
        if not _in_skipped(element) and (parsed := parse_datetime(element.get("datetime") or "", local_tz)):
            return parsed
    if found and not _is_bare_year(found, page_text, url):
        return parse_datetime(found, local_tz)
    return None


def parse_datetime(value: str, local_tz: tzinfo) -> datetime | None:
    """Parse an ISO 8601, RFC 2822 or Chinese/numeric date; naive values are in ``local_tz``.

    >>> parse_datetime("2025年2月10日 10:32", ZoneInfo("Asia/Shanghai")).isoformat()
    '2025-02-10T10:32:00+08:00'
    """
    value = value.strip()
    if not value:
        return None
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        # The e-mail parser is lenient enough to misread "February 10, 2025 2:05 pm".
        if _RFC2822.match(value):
            try:
                parsed = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                parsed = None
        if parsed is None:
            found = _find_dates(value)
            parsed = found[0][1] if found else None
    if parsed is None or not 1990 <= parsed.year <= 2100:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=local_tz)


def _first_byline_date(text: str, local_tz: tzinfo) -> datetime | None:
    for position, found in _find_dates(text):
        line_start = text.rfind("\n", 0, position) + 1
        line_end = text.find("\n", position)
        line = text[line_start : line_end if line_end >= 0 else len(text)]
        # "© 2008-2025 江南日报 版权所有 2025-02-10" is a footer, not a byline.
        if _COPYRIGHT.search(line):
            continue
        return found.replace(tzinfo=local_tz)
    return None


def _find_dates(text: str) -> list[tuple[int, datetime]]:
    """Every plausible calendar date (with its time of day, if written) in ``text``, in order."""
    dates: list[tuple[int, datetime]] = []
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            groups = match.groupdict()
            month = _MONTHS[groups["mon"].lower()] if groups.get("mon") else int(groups["m"])
            try:
                year = int(groups["y"]) if groups.get("y") else 2000 + int(groups["yy"] or 0)
                day = date(year, month, int(groups["d"]))
                clock = _time_of_day(groups)
            except ValueError:
                continue
            if 1990 <= day.year <= 2100:
                dates.append((match.start(), datetime.combine(day, clock)))
    return sorted(dates, key=lambda item: item[0])


def _time_of_day(groups: dict[str, str | None]) -> time:
    if groups.get("h") is None:
        return time()
    hour = int(groups["h"] or 0)
    ampm = (groups.get("ampm") or "").lower()
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    return time(hour, int(groups["mi"] or 0), int(groups.get("s") or 0))


def _is_bare_year(found: str, page_text: str, url: str) -> bool:
    """True when trafilatura's date is a year padded to 1 January that the page never states.

    htmldate turns a lone "2025" (as in "© 2008-2025") into 2025-01-01.
    """
    match = re.fullmatch(r"(\d{4})-01-01", found.strip()[:10])
    if not match:
        return False
    year = match.group(1)
    spelled = [f"{year}{sep}01{sep}01" for sep in ("-", "/", ".", "")]
    spelled += [f"{year}-1-1", f"{year}/1/1", f"{year}年1月1日", f"{year}年01月01日"]
    return not any(form in page_text or form in url for form in spelled)


# --- author ----------------------------------------------------------------------------------


def _choose_author(
    tree: lxml.html.HtmlElement, meta: dict[str, str], zone: _Zone, text: str, found: str | None
) -> str | None:
    """A byline near the headline or at the text's edges, then meta/JSON-LD author, then trafilatura's.

    The byline comes first because Chinese portals fill <meta name="author">
    with their own name or the syndicating outlet (网易, 新京报), while the
    reporter is named in the byline (记者 王晓明).
    """
    site_names = _site_names(tree, meta)
    lines = text.splitlines()
    # Bylines open the lead ("新京报快讯（记者 王晓明）今日…") or close the text.
    edges = [line[:60] for line in lines[:2]] + [line[-60:] for line in lines[-3:]]
    for snippet in [*zone.all, *edges]:
        if name := byline_author(snippet):
            return name
    for key in _AUTHOR_META:
        value = meta.get(key, "")
        if _plausible_author(value, site_names):
            return value
    for item in _json_ld(tree):
        names = _json_ld_authors(item.get("author"))
        names = [name for name in names if _plausible_author(name, site_names)]
        if names:
            return ", ".join(names)
    # trafilatura's guess is often a commenter (class="tie-author") or a
    # sidebar account on Chinese pages: believe it only next to the headline.
    if found and _plausible_author(found, site_names) and not _NOT_AUTHOR.search(found):
        name = _squash(found)
        if any(name.casefold() in snippet.casefold() for snippet in zone.headline):
            return name
    return None


def byline_author(text: str) -> str | None:
    """The author named in a byline such as ``作者：王晓明``, ``（记者 王晓明 李华）`` or ``By Jane Doe``.

    >>> byline_author("2025-02-10 来源：江南日报 记者 王晓明 李华 报道")
    '王晓明、李华'
    """
    for line in text.splitlines():
        line = _squash(line)
        if not line or len(line) > 120:
            continue
        # Patterns are written in simplified characters (记者, 报道); keep the
        # names as the page spells them when the conversion kept positions.
        simple = _t2s().convert(line)
        original = line if len(simple) == len(line) else simple
        for match in _CJK_BYLINE.finditer(simple):
            names = _cjk_names(simple[match.end() : match.end() + 40])
            if names:
                offset = match.end()
                spelled = []
                for name in names:
                    at = simple.index(name, offset)
                    spelled.append(original[at : at + len(name)])
                    offset = at + len(name)
                return "、".join(spelled)
        if match := _EN_BYLINE.search(line):
            return _squash(match.group("name")).rstrip(",")
    return None


def _cjk_names(following: str) -> list[str]:
    # "（记者 裴剑飞）今日……": the closing bracket ends the byline.
    following = re.split(r"[)）\]】]", following, maxsplit=1)[0]
    names: list[str] = []
    for token in re.split(r"[\s、，,;；/|｜]+", following):
        token = token.strip("(（[【")
        bare = _NAME_SUFFIX.sub("", token)
        if not _CJK_NAME.match(bare) or bare in _NOT_NAMES:
            break
        names.append(bare)
        if bare != token:
            break  # "王晓明报道" ends the list of names
    return names


def _json_ld_authors(value: object) -> list[str]:
    if isinstance(value, str):
        return [_squash(value)]
    if isinstance(value, list):
        return [name for item in value for name in _json_ld_authors(item)]
    if isinstance(value, dict) and value.get("@type", "Person") == "Person":
        return _json_ld_authors(value.get("name"))
    return []


def _site_names(tree: lxml.html.HtmlElement, meta: dict[str, str]) -> set[str]:
    names = {meta.get("og:site_name", ""), meta.get("application-name", "")}
    page_title = _squash(tree.findtext(".//title"))
    names.update(part for part in _TITLE_SEPARATOR.split(page_title)[1:])
    return {name.casefold() for name in names if name}


def _plausible_author(value: str, site_names: set[str]) -> bool:
    value = _squash(value).casefold()
    if not value or len(value) > 80 or "@" in value or "://" in value:
        return False
    if not any(char.isalpha() for char in value) or value in {"name", "admin", "author", "未知", "佚名"}:
        return False
    # Chinese portals put their own name in <meta name="author"> ("网易" on 网易财经).
    return not any(value in site or site in value for site in site_names)


# --- language --------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    # Building the converter reads its dictionaries from disk: do it once per process.
    return opencc.OpenCC("t2s")


def _choose_language(tree: lxml.html.HtmlElement, text: str) -> str | None:
    declared = normalise_language(tree.get("lang") or tree.get("xml:lang") or "", text)
    guessed = guess_language(text)
    if declared is None:
        return guessed
    # Templates often keep lang="en" on Chinese pages (and the reverse):
    # believe the text when it plainly contradicts the attribute.
    if guessed is not None and declared.startswith("zh") != guessed.startswith("zh"):
        return guessed
    return declared


def normalise_language(tag: str, text: str = "") -> str | None:
    """Map an HTML ``lang`` value to "zh-Hans", "zh-Hant", "en" or another two-letter code.

    >>> normalise_language("zh-TW"), normalise_language("en-US"), normalise_language("zh-CN", "简体文字")
    ('zh-Hant', 'en', 'zh-Hans')
    """
    subtags = tag.strip().replace("_", "-").lower().split("-")
    primary = subtags[0]
    if primary in ("zh", "cmn", "yue", "lzh"):
        if any(sub in ("hant", "tw", "hk", "mo") for sub in subtags[1:]):
            return "zh-Hant"
        return _chinese_script(text)
    if len(primary) == 2 and primary.isalpha():
        return primary
    return None


def guess_language(text: str) -> str | None:
    """Guess the language from the script mix; None when unsure."""
    han = len(_HAN.findall(text))
    kana = len(_KANA.findall(text))
    hangul = len(_HANGUL.findall(text))
    latin = len(_LATIN.findall(text))
    letters = han + kana + hangul + latin
    if not letters:
        return None
    if kana and kana * 20 > han + kana and (han + kana) * 10 > letters * 3:
        return "ja"
    if hangul * 10 > letters * 3:
        return "ko"
    if han * 5 >= letters:
        return _chinese_script(text)
    words = [word.lower() for word in _WORD.findall(text)]
    if latin * 2 > letters and words:
        function_words = sum(word in _EN_FUNCTION_WORDS for word in words)
        if function_words * 10 >= len(words):
            return "en"
    return None


def _chinese_script(text: str) -> str:
    """Tell Traditional from Simplified: "zh-Hant" if OpenCC t2s changes more than a few percent."""
    sample = "".join(_HAN.findall(text))[:5000]
    if not sample:
        return "zh-Hans"
    converted = _t2s().convert(sample)
    if len(converted) == len(sample):
        changed = sum(a != b for a, b in zip(sample, converted, strict=True))
    else:
        # Phrase tables can change the length; fall back to character by character.
        unique = sorted(set(sample))
        mapped = _t2s().convert("\n".join(unique)).split("\n")
        differs = {c for c, m in zip(unique, mapped, strict=False) if c != m}
        changed = sum(c in differs for c in sample)
    return "zh-Hant" if changed > len(sample) * TRADITIONAL_SHARE else "zh-Hans"
