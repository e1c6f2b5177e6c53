"""The parsed page that every extraction step reads: the lxml tree and cheap views of it.

Parsing happens once per page (:func:`parse_html`); the text, metadata and
selector modules then share the tree, its ``<meta>`` tags, its JSON-LD and its
visible text in document order (:func:`flatten`). Nothing here decides what is
article and what is not, beyond the elements no article lives in
(:func:`is_skipped`: scripts, navigation, footers).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import lxml.etree
import lxml.html

# Below these sizes a "text" is a caption, a teaser or a cookie banner.
MIN_HAN_CHARS = 50
MIN_WORDS = 30

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
ANY_WORD = re.compile(r"[^\W\d_]+")  # letters of any script: Korean and Russian pages count too

UNSEEN_TAGS = ("textarea", "noembed", "noframes")
SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "footer", "select", "option", "nav"})
_FOOTERISH = re.compile(r"foot|copyright|copy-right|bottom", re.IGNORECASE)
# fmt: off
BLOCK_TAGS = frozenset({
    "br", "p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "td", "tr", "table", "section",
    "article", "header", "aside", "dd", "dt", "blockquote", "pre", "figure", "figcaption",
})
# fmt: on


def parse_html(text: str) -> lxml.html.HtmlElement | None:
    """Parse decoded HTML; None when there is no document at all."""
    # Parse UTF-8 bytes with the encoding forced, so that a <meta charset>
    # left over from the page's original encoding cannot re-decode it. huge_tree: libxml2
    # otherwise drops everything past depth 256, and a template that never closes its <div>s
    # hid its article there (size stays bounded by max_page_bytes and MAX_ELEMENTS).
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=True)
    try:
        tree = lxml.html.document_fromstring(text.encode("utf-8", "surrogatepass"), parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return None
    # Never page text: a form's box (a prefilled comment, "embed this" code, as raw text that reads as
    # markup) and fallbacks no current browser shows. The largest of them was taken for the article.
    lxml.etree.strip_elements(tree, *UNSEEN_TAGS, with_tail=False)
    return tree


# Elements of a page the extractor reads, in document order. Text extraction (trafilatura's
# main pass above all) costs more than linearly in a page's size: a page of 52,000 short
# paragraphs (104,000 elements, 9 MB) took 40 s, held the crawl's thread that long without
# page workers, and went on growing with the page. The largest page of the benchmark
# corpora has 4,634 elements; a news or blog article has a few hundred to a few thousand.
MAX_ELEMENTS = 20_000


def cut_after(tree: lxml.html.HtmlElement, limit: int = MAX_ELEMENTS) -> bool:
    """Drop every element after the `limit`-th in document order; True when the page was cut.

    What is kept is the page as a reader scrolls it, up to that point: the head (title,
    meta tags) and the start of the body, where an article's text begins.
    """
    last = None
    for count, element in enumerate(tree.iter(), 1):
        if count > limit:
            break
        last = element
    else:
        return False  # at most `limit` elements: nothing to cut
    if last is None:  # limit 0
        return False
    for child in list(last):  # its descendants come after it in document order
        last.remove(child)
    node: lxml.html.HtmlElement | None = last
    while node is not None:
        following = node.getnext()
        while following is not None:
            after = following.getnext()
            following.getparent().remove(following)
            following = after
        node = node.getparent()
    return True


def squash(value: str | None) -> str:
    """Collapse every run of whitespace to one space and trim."""
    return " ".join(value.split()) if value else ""


def text_size(text: str) -> int:
    """Han characters plus words: a size that means the same in Chinese and English."""
    return len(HAN.findall(text)) + len(ANY_WORD.findall(text))


def is_substantial(text: str) -> bool:
    """Enough text to be an article rather than a caption or a teaser."""
    return len(HAN.findall(text)) >= MIN_HAN_CHARS or len(ANY_WORD.findall(text)) >= MIN_WORDS


def meta_tags(tree: lxml.html.HtmlElement) -> dict[str, str]:
    """First non-empty content of each <meta>, keyed by lower-cased name/property/itemprop."""
    tags: dict[str, str] = {}
    for element in tree.iter("meta"):
        content = squash(element.get("content"))
        if not content:
            continue
        for attribute in ("property", "name", "itemprop", "http-equiv"):
            # Spaces occur in real keys ("weibo: article:create_at", "og:time ").
            key = "".join((element.get(attribute) or "").split()).lower()
            if key:
                tags.setdefault(key, content)
    return tags


def json_ld(tree: lxml.html.HtmlElement) -> Iterator[dict]:
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


def is_skipped(element: lxml.html.HtmlElement) -> bool:
    """Elements that never hold the article or its byline: scripts, navigation, footers."""
    if not isinstance(element.tag, str):
        return True
    if element.tag in SKIP_TAGS:
        return True
    marker = f"{element.get('class', '')} {element.get('id', '')}"
    return bool(_FOOTERISH.search(marker))


def in_skipped(element: lxml.html.HtmlElement) -> bool:
    return any(is_skipped(ancestor) for ancestor in element.iterancestors())


def flatten(
    root: lxml.html.HtmlElement, anchor: lxml.html.HtmlElement | None = None, inline_gap: str = " "
) -> tuple[str, int, int]:
    """The visible text under ``root`` in document order, one block per line.

    Also returns where ``anchor``'s text starts and ends in it (-1 if absent).
    ``inline_gap`` follows each inline element: a space keeps "<b>记者</b>王明"
    apart for byline patterns, "" keeps "<b>W</b>ord" one word.
    Walks with an explicit stack: real pages nest deeper than Python recursion allows.
    """
    parts: list[str] = []
    size = 0
    start = end = -1
    stack: list[tuple[lxml.html.HtmlElement, bool]] = [(root, False)]
    while stack:
        element, leaving = stack.pop()
        emit: tuple[str | None, ...]
        if leaving:
            if element is anchor:
                end = size
            emit = (
                "\n" if element.tag in BLOCK_TAGS else inline_gap,
                element.tail if element is not root else None,
            )
        elif element is not root and is_skipped(element):
            emit = ("\n", element.tail)
        else:
            if element is anchor:
                start = size
            emit = (element.text,)
            stack.append((element, True))
            stack.extend((child, False) for child in reversed(element))
        for piece in emit:
            if piece:
                parts.append(piece)
                size += len(piece)
    return "".join(parts), start, end


def block_text(element: lxml.html.HtmlElement) -> str:
    """The element's visible text, one line per block or <br>, whitespace squashed."""
    text = flatten(element, inline_gap="")[0]
    return "\n".join(squash(line) for line in text.split("\n") if line.strip())

