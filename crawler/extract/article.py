"""Turn one article page (bytes) into an :class:`ExtractedArticle`: text, title, date, author, language.

The steps, each in its own module:

- ``crawler.extract.decode``: bytes to text with the right codec (a wrong one gives
  mojibake silently);
- ``crawler.extract.page``: one lxml parse, shared by everything below;
- ``crawler.extract.selectors``: the source's own CSS/XPath selectors, when it has
  them and they still match;
- ``crawler.extract.bodytext`` and ``crawler.extract.boilerplate``: the article text;
- ``crawler.extract.metadata``, ``crawler.extract.dates``, ``crawler.extract.language``: title,
  author, publication date and language, tuned for Chinese news sites.

Pure: bytes and hints in, a value out.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

import htmldate
import lxml.html

from crawler.extract.bodytext import BodyOptions, extract_body
from crawler.extract.boilerplate import clean_text, drop_leading_title
from crawler.extract.dates import choose_published, is_bare_year, parse_datetime
from crawler.extract.decode import decode_page, looks_binary
from crawler.extract.language import choose_language
from crawler.extract.metadata import byline_zone, choose_author, choose_title
from crawler.extract.page import MAX_ELEMENTS, cut_after, is_substantial, meta_tags, parse_html
from crawler.extract.selectors import Overrides, Selectors, apply_selectors
from storage.errors import NoArticleError
from storage.text import strip_controls
from storage.types import ExtractedArticle

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Extraction:
    """An article and the source selectors that did not match its page ("field=selector")."""

    article: ExtractedArticle
    missed_selectors: tuple[str, ...] = ()
    # False when the page's <title> or <h1> held bytes its codec could not read (U+FFFD once
    # decoded): the title has been tidied of them, so a caller that has a better one (a feed's) uses it.
    headline_clean: bool = True


def extract_article(
    body: bytes,
    url: str,
    content_type: str | None = None,
    *,
    published_hint: datetime | None = None,
    title_hint: str | None = None,
    local_tz: tzinfo = SHANGHAI,
    selectors: Selectors | None = None,
) -> ExtractedArticle:
    """Extract the article of one page; raise NoArticleError if it holds no article text.

    ``selectors`` (a source's ``SelectorsConfig``) are tried first; a field
    whose selector misses is extracted automatically. Use
    :func:`extract_with_overrides` to learn which selectors missed.
    """
    return extract_with_overrides(
        body,
        url,
        content_type,
        published_hint=published_hint,
        title_hint=title_hint,
        local_tz=local_tz,
        selectors=selectors,
    ).article


def extract_with_overrides(
    body: bytes,
    url: str,
    content_type: str | None = None,
    *,
    published_hint: datetime | None = None,
    title_hint: str | None = None,
    local_tz: tzinfo = SHANGHAI,
    selectors: Selectors | None = None,
    body_options: BodyOptions | None = None,
) -> Extraction:
    """Like :func:`extract_article`, and also report the selectors that matched nothing.

    ``body_options`` turns steps of the text extraction off, for measurements.
    """
    page = decode_page(body, content_type)
    if looks_binary(page.text):
        # Served as a page, but an image, an archive or compressed bytes: decoded, it read as
        # random "Chinese" and was stored as an article.
        raise NoArticleError(f"no article text found in {url}: binary data, not a text page")
    # Control characters mean nothing on a news page; kept, an escape sequence in a headline
    # reached the operator's terminal through `mediawatch articles`.
    tree = parse_html(strip_controls(page.text))
    if tree is None:
        raise NoArticleError(f"no article text found in {url}")
    if cut_after(tree, MAX_ELEMENTS):
        logger.info("url=%s is over %d elements: its article is read from the first %d", url, MAX_ELEMENTS,
                    MAX_ELEMENTS)
    overrides = apply_selectors(tree, selectors, local_tz) if selectors is not None else Overrides()
    for missed in overrides.missed:
        logger.debug("selector %s matched nothing on %s", missed, url)

    options = body_options or BodyOptions()
    meta = meta_tags(tree)
    title = overrides.title or choose_title(tree, meta, strip_controls(title_hint) if title_hint else title_hint)
    text = overrides.body or extract_body(tree, url, options, title)
    if not overrides.body and not is_substantial(text):
        raise NoArticleError(f"no article text found in {url}")

    # Without the headline, a dateline under it becomes the head: clean again.
    text = drop_leading_title(text, title)
    text = clean_text(text) if options.clean else text
    # A byte that no codec could read (a CMS cut a character in two) says nothing: never store U+FFFD.
    text, title = text.replace("\ufffd", ""), title.replace("\ufffd", "")
    if not text:
        raise NoArticleError(f"no article text found in {url}")
    zone = byline_zone(tree, title)
    author = overrides.author or choose_author(tree, meta, zone, text)
    language = choose_language(tree, title + "\n" + text)
    published = overrides.published or choose_published(tree, meta, zone.all, published_hint, local_tz)
    if published is None:
        published = _htmldate(tree, page.text, url, local_tz)
    logger.debug("extracted %s: %d chars, published %s, lang %s", url, len(text), published, language)
    article = ExtractedArticle(
        url=url,
        title=title,
        text=text,
        author=author,
        published=published,
        language=language,
        encoding=page.encoding,
    )
    return Extraction(article, overrides.missed, headline_clean=_headline_decoded_cleanly(page.text))


_HEADLINE = re.compile(r"<(title|h1)\b[^>]*>(.*?)</\1>", re.S | re.I)


def _headline_decoded_cleanly(page_text: str) -> bool:
    """False when the page's <title> or <h1> holds replacement marks once decoded."""
    if "\ufffd" not in page_text:  # the usual case, found without a regular expression
        return True
    return not any("\ufffd" in match.group(2) for match in _HEADLINE.finditer(page_text, 0, 200_000))


def _htmldate(tree: lxml.html.HtmlElement, page_text: str, url: str, local_tz: tzinfo) -> datetime | None:
    """htmldate's guess, as a last resort and without its free-text search (footer years)."""
    try:
        found = htmldate.find_date(tree, url=url, original_date=True, extensive_search=False)
    except (ValueError, TypeError):
        return None
    if not found or is_bare_year(found, page_text, url):
        return None
    return parse_datetime(found, local_tz)
