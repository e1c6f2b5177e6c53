"""Parts of a page that look like article text but are not the page's article.

Three kinds, found by the page's structure rather than by site:

- comment and guest-book records (:func:`drop_comment_records`): runs of
  sibling blocks of one shape, each short, stamped with a time and marked as a
  reader's (网友, 留言, 回复, 楼, 顶…). Together they can outweigh a long
  article, and extractors that pick the largest block of prose then take them;
- the other posts of a page that shows several (:func:`titled_post`): a blog
  page or archive whose ``<title>`` names one post;
- lists of links to other stories (:func:`drop_link_lines`): related news,
  rankings and menus that survive as lines of the text, one headline a line.

Pure: a parsed tree (and text) in, a smaller tree or text out.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from statistics import median

import lxml.html

from crawler.extract.page import squash

logger = logging.getLogger(__name__)

_RECORD_TAGS = ("div", "li", "table", "dl", "article", "section", "tr")
_HEADINGS = ("h1", "h2", "h3", "h4")
# A reader's record is short; an article paragraph block or a post is not.
RECORD_MAX_CHARS = 500
MIN_RECORDS = 3
RECORD_SHARE = 0.6
_TIMESTAMP = re.compile(
    r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}|\d{1,2}\s*[-/月]\s*\d{1,2}日?\s+\d{1,2}:\d{2}|\d{1,2}:\d{2}"
    r"|\d+\s*(?:秒|分钟|小时|天)前|刚刚|昨天|\b\d+\s+(?:minutes?|hours?|days?)\s+ago\b",
    re.IGNORECASE,
)
_READER_MARK = re.compile(
    r"网友|留言|评论|回复|回帖|游客|用户|楼主|沙发|板凳|地板|\d+\s*[#楼]|[顶赞踩]\s*[(（\[]\s*\d|举报|引用|发表于"
    r"|\breply\b|\breport\b|\bupvote\b",
    re.IGNORECASE,
)
# How a forum marks the thread's opening post, however short it is.
_OPENING_POST = re.compile(r"楼主|主题帖|\b1\s*[#楼]|\b#1\b|一楼")
# How much of a line a link must cover to make the line a link to elsewhere.
LINK_LINE_SHARE = 0.6
_LIST_BULLET = re.compile(r"^[-·•|>»\s]+")
_TRAILING_DATE = re.compile(r"[\s(（\[]*\d{2,4}[-/.年]\d{1,2}(?:[-/.月]\d{1,2}日?)?[)）\]]?\s*$")
_TITLE_NOISE = re.compile(r"[\s\W_]+")
_SENTENCE_END = re.compile(r"[，。；！？,.;!?]")


# --- comments and guest books ------------------------------------------------------------------------


def drop_comment_records(tree: lxml.html.HtmlElement) -> int:
    """Remove reader comment and guest-book records from ``tree``; return how many.

    A record is one of at least :data:`MIN_RECORDS` siblings sharing tag and
    class, of at most :data:`RECORD_MAX_CHARS` characters, without a heading,
    holding a time stamp and a reader's mark. The first of a run is kept when
    it is much longer than the others or says it opens the thread (楼主): a
    forum thread's opening post is the article, its replies are the comments.
    """
    removed = 0
    for parent in list(tree.iter()):
        if not isinstance(parent.tag, str):
            continue
        groups: dict[tuple[str, str], list[lxml.html.HtmlElement]] = defaultdict(list)
        for child in parent:
            if isinstance(child.tag, str) and child.tag in _RECORD_TAGS:
                groups[(child.tag, child.get("class", ""))].append(child)
        for members in groups.values():
            if len(members) < MIN_RECORDS:
                continue
            sized = [(member, len(squash(member.text_content()))) for member in members]
            records = [(m, size) for m, size in sized if _is_record(m, size)]
            if len(records) < MIN_RECORDS or len(records) < RECORD_SHARE * len(members):
                continue
            first, first_size = records[0]
            typical = median(size for _, size in records[1:])
            if first_size >= max(100, 1.5 * typical) or _OPENING_POST.search(first.text_content()):
                records = records[1:]
            for member, _ in records:
                _remove(member)
            removed += len(records)
    if removed:
        logger.debug("dropped %d comment records", removed)
    return removed


def _is_record(element: lxml.html.HtmlElement, size: int) -> bool:
    if not 0 < size <= RECORD_MAX_CHARS or next(element.iter(*_HEADINGS), None) is not None:
        return False
    text = element.text_content()
    return bool(_TIMESTAMP.search(text) and _READER_MARK.search(text))


def _remove(element: lxml.html.HtmlElement) -> None:
    parent = element.getparent()
    if parent is None:
        return
    # Keep the tail: it is text of the parent, not of the record.
    if element.tail and element.tail.strip():
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


# --- one post of several ------------------------------------------------------------------------------


def titled_post(tree: lxml.html.HtmlElement, title: str) -> lxml.html.HtmlElement | None:
    """The post the page is about, when the page shows several posts and its title names one.

    A post is a block holding a heading and running text, with sibling
    blocks of the same tag holding a heading at the same place and running
    text of their own. The heading must be the page's title (or be contained
    in its ``<title>``). None when the page is not like that: then the whole
    page is the article's.
    """
    names = {_title_key(title), _title_key(tree.findtext(".//title") or "")} - {""}
    if not names:
        return None
    for heading in tree.iter(*_HEADINGS):
        key = _title_key(heading.text_content())
        if len(key) < 4 or not any(key == name or (len(key) >= 6 and key in name) for name in names):
            continue
        post = _post_around(heading)
        if post is not None:
            return post
    return None


def _post_around(heading: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The ancestor of ``heading`` with siblings shaped alike (same tag, a heading reached by the
    same tag path, running text). Classes may differ: themes mark the first or the current post."""
    path = [heading.tag]
    for block in heading.iterancestors():
        parent = block.getparent()
        if parent is None or block.tag in ("body", "html") or len(path) > 6:
            return None
        others = [
            other
            for other in parent
            if other is not block and other.tag == block.tag and _prose(other) >= 100 and _has_heading_at(other, path)
        ]
        if others and _prose(block) >= 100:
            return block
        path.insert(0, block.tag)
    return None


def _has_heading_at(block: lxml.html.HtmlElement, path: list[str]) -> bool:
    """``block`` has a descendant along the tag path ``path`` (its last tag a heading)."""
    level = [block]
    for tag in path:
        level = [child for element in level for child in element if child.tag == tag]
        if not level:
            return False
    return True


def _prose(element: lxml.html.HtmlElement) -> int:
    """Characters of the element's text outside links."""
    links = sum(len(squash(a.text_content())) for a in element.iter("a"))
    return len(squash(element.text_content())) - links


def _title_key(text: str) -> str:
    return _TITLE_NOISE.sub("", text).casefold()


def post_text(post: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """A document holding only ``post`` (a copy), for the text extraction to run on."""
    document = lxml.html.document_fromstring("<html><body></body></html>")
    body = document.find("body")
    copy = lxml.html.fromstring(lxml.html.tostring(post, encoding="unicode"))
    copy.tail = None
    body.append(copy)
    return document


# --- lists of links -----------------------------------------------------------------------------------


def drop_link_lines(tree: lxml.html.HtmlElement, text: str) -> str:
    """Remove the lines of ``text`` that are links to other pages, in runs of two or more or at an edge.

    A line is a link when one anchor of the page covers most of it (after a
    list bullet and a trailing date): a headline in a related-news list, a
    ranking or a menu. A single linked line inside the text is left alone.
    """
    anchors = {squash(a.text_content()) for a in tree.iter("a")}
    anchors = {anchor for anchor in anchors if len(anchor) >= 4}
    if not anchors or not text:
        return text
    lines = text.split("\n")
    linked = [_is_link_line(line, anchors) for line in lines]
    if all(linked) or not any(linked):
        return text
    last = len(lines) - 1
    drop = [
        flag and ((i > 0 and linked[i - 1]) or (i < last and linked[i + 1]) or i in (0, last))
        for i, flag in enumerate(linked)
    ]
    for i in range(last):
        # A list's caption ("热点文章", "More stories") goes with the list.
        if drop[i + 1] and not drop[i] and _is_caption(lines[i]) and (i == 0 or not linked[i - 1]):
            drop[i] = True
    keep = [line for line, dropped in zip(lines, drop, strict=True) if not dropped]
    if len(keep) == len(lines):
        return text
    logger.debug("dropped %d linked lines", len(lines) - len(keep))
    return "\n".join(keep)


def _is_caption(line: str) -> bool:
    return 0 < len(line) <= 12 and not _SENTENCE_END.search(line)


def _is_link_line(line: str, anchors: set[str]) -> bool:
    core = _TRAILING_DATE.sub("", _LIST_BULLET.sub("", line)).strip()
    if len(core) < 4:
        return False
    longest = max((len(anchor) for anchor in anchors if anchor in core), default=0)
    return longest >= LINK_LINE_SHARE * len(core)

