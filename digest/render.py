"""Rendering a `DigestView` as an email-ready HTML page, a plain-text twin and a subject.

The HTML template is written with a `<style>` block for readability and then
inlined by `css_inline` (email clients drop `<style>`); its layout is one column of
nested tables at most 640 px wide, so it reads on a phone and in Outlook. Both
environments (one function, `_environment`) use `StrictUndefined`, so a typo in a
template fails the tests instead of printing nothing; only the HTML one autoescapes.

Two editions come from one view: the email (sections cut at `cap`, one short "why"
line per entry, a footer for the recipient) and the archive page (everything, with
every matching reason). The text twin is wrapped at 80 columns, Chinese counted as
two, and carries no highlight markers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import css_inline
import jinja2

from digest.text import TEXT_WIDTH, display_width, one_line, printable, shorten, wrap
from digest.view import Bar, DigestView

TEMPLATES = Path(__file__).parent / "templates"
TEXT_BAR_WIDTH = 24
SUBJECT_TITLE_CHARS = 60


@dataclass(frozen=True)
class DigestLinks:
    """Where the archived copy of this digest can be read, and how a recipient stops it.

    `page` and `index` are http(s) URLs (set when the archive folder is served,
    `[digest] archive_url`); without them the email does not point at the archive
    at all (a folder on the sending machine means nothing in an inbox). `page_path`
    is the page's path inside the archive folder, for the service's own use.
    `unsubscribe` is the address the List-Unsubscribe header mails.
    """

    page: str | None = None
    index: str | None = None
    page_path: str | None = None
    unsubscribe: str | None = None


@dataclass(frozen=True)
class RenderedDigest:
    """One digest, ready to send or to write: subject, HTML (CSS inlined) and text."""

    topic: str
    subject: str
    html: str
    text: str
    view: DigestView

    @property
    def article_count(self) -> int:
        return self.view.article_count

    @property
    def outlet_count(self) -> int:
        return self.view.outlet_count


def render_digest(
    view: DigestView, *, links: DigestLinks | None = None, cap: int | None = None, archive: bool = False
) -> RenderedDigest:
    """Render `view` with each section cut to `cap` entries (None: everything).

    `archive` renders the archive page's edition: every reason an article matched,
    and a footer for a web page rather than for a recipient.
    """
    links = links or DigestLinks()
    shown = view.capped(cap)
    subject = make_subject(view)
    context = {"d": shown, "links": links, "subject": subject, "archive": archive, "width": TEXT_WIDTH}
    html = _environment(html=True).get_template("digest.html.j2").render(context)
    text = _environment(html=False).get_template("digest.txt.j2").render(context)
    return RenderedDigest(topic=view.topic, subject=subject, html=inline_css(html), text=text, view=view)


def make_subject(view: DigestView) -> str:
    """'<title>: 12 new articles from 5 outlets, 1 removed, 2025-02-12 — <lead headline>' on one line.

    With no new articles, a digest sent for a takedown or an edit leads with that
    article instead: 'no new articles, 1 removed, 2025-02-12 — removed: <headline>'.
    """
    day = view.generated[:10]
    changed = [f"{count} {label}" for count, label in ((view.removed_count, "removed"), (view.edited_count, "edited")) if count]
    if view.article_count:
        counts = f"{_plural(view.article_count, 'new article')} from {_plural(view.outlet_count, 'outlet')}"
    else:
        counts = "no new articles"
    copies = [view.copies_line] if view.copies_count else []
    subject = f"{view.display_title}: " + ", ".join([counts, *copies, *changed, day])
    if view.storylines.items:
        subject += " — " + shorten(one_line(view.storylines.items[0].lead.title_text), SUBJECT_TITLE_CHARS)
    elif view.removed.items or view.edited.items:
        first = (view.removed.items or view.edited.items)[0]
        subject += f" — {first.kind}: " + shorten(one_line(first.title), SUBJECT_TITLE_CHARS)
    return one_line(subject)


def inline_css(html: str) -> str:
    """Move the `<style>` rules onto the elements (remote stylesheets are never fetched)."""
    return _inliner().inline(html)


@lru_cache(maxsize=1)
def _inliner() -> css_inline.CSSInliner:
    return css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _text_bar(percent: int) -> str:
    blocks = round(percent * TEXT_BAR_WIDTH / 100)
    return "█" * (blocks or (1 if percent else 0))


def _pad(text: str, width: int) -> str:
    """Left-align `text` in `width` columns, counting Chinese characters as two."""
    return text + " " * max(0, width - display_width(text))


def _label_width(bars: Sequence[Bar]) -> int:
    return max((display_width(bar.label) for bar in bars), default=0)


# This many periods in a row without articles print as one line in the plain-text chart.
QUIET_RUN = 3


@dataclass(frozen=True)
class QuietRun:
    label: str  # "2025-03 – 2026-10"
    quiet: int  # how many periods


def _fold_quiet(bars: Sequence[Bar]) -> list[Bar | QuietRun]:
    """Bars with each run of `QUIET_RUN` or more empty periods folded into one `QuietRun`.

    A lull of twenty months printed twenty lines of "2025-03   0" in the text digest; the
    HTML chart keeps every period, where the gap is what a reader sees.
    """
    folded: list[Bar | QuietRun] = []
    run: list[Bar] = []
    for bar in [*bars, None]:
        if bar is not None and bar.count == 0:
            run.append(bar)
            continue
        if len(run) >= QUIET_RUN:
            folded.append(QuietRun(f"{run[0].label} – {run[-1].label}", len(run)))
        else:
            folded.extend(run)
        run = []
        if bar is not None:
            folded.append(bar)
    return folded


@lru_cache(maxsize=2)
def _environment(html: bool) -> jinja2.Environment:
    """The template environment: autoescaping for HTML, verbatim (keeping the final newline) for text."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=not html,
        finalize=printable,
    )
    env.globals.update(plural=_plural)
    env.filters.update(text_bar=_text_bar, pad=_pad, label_width=_label_width, fold_quiet=_fold_quiet,
                       one_line=one_line, wrap=wrap)
    return env


def html_environment() -> jinja2.Environment:
    """The autoescaping environment, for the archive's index page."""
    return _environment(html=True)
