"""Find the article text of a parsed page: trafilatura first, then repairs where it is known to fail.

1. trafilatura in precision mode, which drops the related-news lists that its
   default mode keeps (on guancha.cn only a fifth of the default text was
   article). On some portals (163.com) precision mode keeps the comment box
   and loses the whole article instead; so when its text is short, the
   default mode is run too and wins if it holds at least twice the prose.
   Running both modes on every page costs twice the time for the same score.
2. A layout table (old government CMSs put the whole article in one cell of
   a page-wide table) or too little text: the densest block of paragraphs
   (:func:`densest_paragraphs`) is used instead.
3. An article split into sibling containers with the same class (a body,
   an ad, the rest of the body) comes back whole (:func:`join_split_body`).
4. Around all of it, what is not the article however much it reads like
   one (``crawler.extract.sections``): reader comment and guest-book records
   are removed before anything is measured, a page showing several posts is
   cut down to the post its title names, and lines that are links to other
   stories go.

Each step's effect is printed by ``python -m bench.extract`` (its ablation table).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import lxml.html
import trafilatura

from crawler.extract.boilerplate import SENTENCE_PUNCTUATION, clean_text, prose_chars
from crawler.extract.page import block_text, in_skipped, is_skipped, is_substantial, squash, text_size
from crawler.extract.sections import drop_comment_records, drop_link_lines, post_text, titled_post

logger = logging.getLogger(__name__)

# Below this many characters the precise text gets a second opinion from trafilatura's default mode.
SECOND_OPINION_BELOW = 500
# A table cell this long holds running text: the table lays out a page, it is not a data table.
LAYOUT_CELL_CHARS = 150
# How far up from the article's container a sibling chunk may branch off.
CHUNK_MAX_DEPTH = 3
CHUNK_MIN_PROSE = 200
CHUNK_MIN_PARAGRAPHS = 2

_TEXT_BLOCKS = ("p", "div", "section", "td", "li", "blockquote", "article", "pre")


@dataclass(frozen=True)
class BodyOptions:
    """Switches for the steps above: the defaults are production, the benchmark varies them one at a time."""

    precise: bool = True  # trafilatura's precision mode first (else its default mode)
    second_opinion_below: int = SECOND_OPINION_BELOW  # 0: never run the other mode; a huge value: always
    density_fallback: bool = True
    join_chunks: bool = True
    clean: bool = True  # boilerplate lines (crawler.extract.boilerplate)
    sections: bool = True  # comments, other posts and link lists out (crawler.extract.sections)


def extract_body(
    tree: lxml.html.HtmlElement, url: str, options: BodyOptions = BodyOptions(), title: str = ""
) -> str:
    """The article text of the page, one paragraph per line ("" when there is none).

    ``title`` is the page's headline; on a page of several posts it picks one.
    Comment records are removed from ``tree`` itself.
    """
    if options.sections:
        drop_comment_records(tree)
        post = titled_post(tree, title)
        if post is not None:
            logger.debug("%s shows several posts: taking the one titled %r", url, title)
            tree = post_text(post)
    text = _body_text(tree, url, options)
    if options.sections and text:
        text = drop_link_lines(tree, text)
    return text


def _body_text(tree: lxml.html.HtmlElement, url: str, options: BodyOptions) -> str:
    tidy = clean_text if options.clean else _identity
    text = tidy(_trafilatura_text(tree, url, precision=options.precise))
    if options.precise and len(text) < options.second_opinion_below:
        broad = tidy(_trafilatura_text(tree, url, precision=False))
        if prose_chars(text) * 2 < prose_chars(broad):
            logger.debug("precise text of %s is thin (%d chars), taking the default mode's", url, len(text))
            text = broad
    if options.density_fallback:
        layout = is_layout_table(text)
        if layout or not is_substantial(text):
            fallback = tidy(densest_paragraphs(tree))
            if (layout and is_substantial(fallback)) or text_size(fallback) > text_size(text):
                logger.debug("using the densest block of %s (layout table: %s)", url, layout)
                text = fallback
    if options.join_chunks and text:
        text = join_split_body(tree, text)
    return text


def _identity(text: str) -> str:
    return text


def _trafilatura_text(tree: lxml.html.HtmlElement, url: str, *, precision: bool) -> str:
    # bare_extraction copies the tree it is given before pruning it.
    document = trafilatura.bare_extraction(
        tree, url=url, include_comments=False, favor_precision=precision, with_metadata=False
    )
    # Without output_format, bare_extraction returns a Document (a dict only when asked for one).
    text = getattr(document, "text", None) if document is not None else None
    return text or ""


def is_layout_table(text: str) -> bool:
    """True when the text is mostly "| cell | cell |" rows and some cell holds running text.

    Old government and local-paper CMSs lay the whole page out in tables;
    trafilatura then returns the navigation and the article as one big table.
    A data table (standings, prices) is mostly rows too, but of short cells.
    """
    rows = [line for line in text.splitlines() if line.startswith("|")]
    if sum(len(line) for line in rows) * 2 <= len(text):
        return False
    return any(
        len(cell) >= LAYOUT_CELL_CHARS and SENTENCE_PUNCTUATION.search(cell)
        for row in rows
        for cell in row.split("|")
    )


def densest_paragraphs(tree: lxml.html.HtmlElement) -> str:
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
        if is_skipped(element) or in_skipped(element):
            continue
        paragraph = block_text(element)
        links = sum(len(squash(a.text_content())) for a in element.iter("a"))
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


def join_split_body(tree: lxml.html.HtmlElement, text: str) -> str:
    """Add the article's other chunks when the page splits it into same-class sibling containers.

    Magazine templates cut the body into several ``<div class="body">``
    separated by ads; extractors that pick the best container keep only one.
    A chunk must share the container's tag and class, branch off within
    :data:`CHUNK_MAX_DEPTH` levels, and hold several paragraphs of running text.
    """
    lines = text.split("\n")
    wanted = {line for line in lines if len(line) >= 40}
    if len(wanted) < 2:
        return text
    matched = [p for p in tree.iter("p") if squash(p.text_content()) in wanted]
    if len(matched) < 2:
        return text
    container = _common_ancestor(matched)
    if container is None or not container.get("class") or container.tag in ("body", "html"):
        return text
    near = container
    for _ in range(CHUNK_MAX_DEPTH):
        parent = near.getparent()
        if parent is None:
            break
        near = parent
    before: list[str] = []
    after: list[str] = []
    seen_container = False
    known = set(lines)
    for element in near.iter(container.tag):
        if element is container:
            seen_container = True
            continue
        if element.get("class") != container.get("class") or _related(element, container):
            continue
        paragraphs = [squash(p.text_content()) for p in element.iter("p") if not in_skipped(p)]
        paragraphs = [p for p in paragraphs if p and p not in known]
        if len(paragraphs) < CHUNK_MIN_PARAGRAPHS or prose_chars("\n".join(paragraphs)) < CHUNK_MIN_PROSE:
            continue
        (after if seen_container else before).extend(paragraphs)
    if not before and not after:
        return text
    logger.debug("joined %d paragraphs from sibling chunks", len(before) + len(after))
    return "\n".join([*before, *lines, *after])


def _common_ancestor(elements: list[lxml.html.HtmlElement]) -> lxml.html.HtmlElement | None:
    chain = [elements[0], *elements[0].iterancestors()]
    depth_of = {id(element): depth for depth, element in enumerate(chain)}
    deepest = 0
    for element in elements[1:]:
        for ancestor in [element, *element.iterancestors()]:
            if id(ancestor) in depth_of:
                deepest = max(deepest, depth_of[id(ancestor)])
                break
        else:
            return None
    # The paragraphs' own element is not a container: step up at least once.
    return chain[max(deepest, 1)]


def _related(a: lxml.html.HtmlElement, b: lxml.html.HtmlElement) -> bool:
    """One element contains the other."""
    return any(x is b for x in a.iterancestors()) or any(x is a for x in b.iterancestors())
