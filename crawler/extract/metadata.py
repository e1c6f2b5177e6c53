"""Title and author of an article page, and where its byline sits.

Chinese news titles carry channel and site suffixes (``标题_财经_江南日报``);
the headline element and ``og:title`` tell which part is the headline. The
byline (``来源：江南日报 记者 王晓明 2025-02-10``) sits just after the
headline or in an element whose class says so; :class:`Zone` collects those
texts for the date and author rules. When a Chinese article names no writer,
the responsible editor (``责任编辑：王晓明``) is its author, as GNE's, trafilatura's
and Readability's annotators all record it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import lxml.html

from crawler.extract.page import HAN, flatten, is_skipped, json_ld, squash
from crawler.normalize import to_simplified

# How far after (and before) the headline a byline may sit, in characters.
BYLINE_AFTER = 500
BYLINE_BEFORE = 200

_BYLINE_CLASS = re.compile(r"time|date|pub|byline|author|source|info|meta|writer|editor", re.IGNORECASE)
_AUTHOR_MARK = re.compile(r"author|byline|writer|reporter", re.IGNORECASE)
_AUTHOR_META = ("author", "article:author", "byl", "dc.creator", "sailthru.author", "parsely-author")

_UNSPACED_SITE_SUFFIX = re.compile(
    r"(?<![-\s])-[^-\s]{1,12}(?:网|网站|官网|日报|晚报|早报|新闻|频道|在线|门户|客户端)$"
)
_SITE_SEPARATORS = " @|｜-–—_:·•»/"  # what may stand between a headline and the site's name
_SITE_TAIL_CHARS = 32  # at most this much after the declared site name (":: 痞客邦 PIXNET ::")
_TITLE_SEPARATOR = re.compile(r"\s*(?:[_|｜]|::|\s[-–—·]\s|--)\s*")
_CJK_NAME = re.compile(r"^(?:[\u4e00-\u9fff]{2,4}|[\u4e00-\u9fff]{1,6}·[\u4e00-\u9fff]{1,8})$")
# "对记者表示", "告诉记者", "仅代表作者本人观点", "版权归原作者所有": a reporter or
# author as the object of a sentence is no byline.
_CJK_BYLINE = re.compile(
    r"(?:(?<!代表)(?<![原该])作者|撰文|(?<![对向给跟诉问])记者)\s*[:：]?\s*|(?<![\u4e00-\u9fff])文\s*[/|｜]\s*"
)
_EDITOR = re.compile(
    r"(?:责任编辑|责编)\s*[:：]?\s*(?P<name>[\u4e00-\u9fff]{2,4}|[\u4e00-\u9fff]{1,6}·[\u4e00-\u9fff]{1,8})(?![\u4e00-\u9fff])"
)
_NAME_SUFFIX = re.compile(r"(?:报道|报导|摄影?|发自.*|综合.*|编译|整理|采写|实习生.*|通讯员.*)$")
# Words that follow 记者/作者 in bylines but are not names.
# fmt: off
_NOT_NAMES = frozenset({
    "整合", "综合", "报道", "报导", "摄影", "编辑", "编译", "整理", "采写", "通讯员", "实习生",
    "见习记者", "特约记者", "供图", "制图", "简介", "未知", "佚名", "匿名", "小编", "本站",
    "网友", "本人", "获悉", "了解到", "注意到", "发现", "看到", "采访", "近日", "日前", "昨天", "今天", "今日",
    "责任编辑", "责编", "表示", "介绍", "指出", "透露", "说", "称", "了解", "询问", "问道", "证实", "确认", "所有", "本人观点",
})
# fmt: on
_NAME_WORD = r"[A-Z][\w.'’-]+"
# A run of letters, digits or CJK characters (\w is Unicode-aware): what a snippet's cut must not split.
_WORD = re.compile(r"\w")
_LAST_WORD = re.compile(r"\w+$")
_FIRST_WORD = re.compile(r"^\w+")
_EN_BYLINE = re.compile(
    rf"\b(?:By|Par|Von|Por)\s+(?P<name>{_NAME_WORD}(?:\s+(?:{_NAME_WORD}|de|van|von|der|la|da))"
    rf"{{0,3}}(?:\s*(?:,|and|&|et|und|y)\s*{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,3}})*)"
)
_PERSON_NAME = re.compile(rf"^{_NAME_WORD}(?:\s+(?:{_NAME_WORD}|de|van|von|der|la|da)){{1,3}}$")


# --- title ---------------------------------------------------------------------------------------


def strip_site_suffix(title: str) -> str:
    """Drop trailing ``_频道_网站`` / `` - Site Name`` segments from a <title>.

    >>> strip_site_suffix("标题文字在这里_财经_江南日报")
    '标题文字在这里'
    """
    title = squash(title)
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


def strip_declared_site_name(title: str, site_name: str) -> str:
    """Cut the site name the page declares (og:site_name), and the little after it, off a title.

    A blog platform's <title> reads "post @ blog name :: platform ::": no separator rule can
    tell the blog's name from the headline, but the page says what its name is.

    >>> strip_declared_site_name("秋日賞楓 (2) @ 山居小記_阿明 :: 痞客邦 PIXNET ::", "山居小記_阿明")
    '秋日賞楓 (2)'
    """
    title, site = squash(title), squash(site_name)
    at = title.rfind(site) if len(site) >= 2 else -1
    if at <= 0 or len(title) - at - len(site) > _SITE_TAIL_CHARS:
        return title
    head = title[:at]
    kept = head.rstrip(_SITE_SEPARATORS)
    # Only a separator ends a headline: "Why Mountain Notes readers…" names the site inside it.
    if not head[len(kept) :].strip() or len(kept) < 4:
        return title
    return kept


def _looks_like_site_name(segment: str, first: str) -> bool:
    # "… -- STOLEN!!!" is the end of a headline, not a site.
    if len(segment) >= len(first) or segment.endswith(("!", "?", "！", "？")):
        return False
    if HAN.search(segment):
        return len(segment) <= 16
    return len(segment.split()) <= 5


def overlaps(candidate: str, reference: str) -> bool:
    """One text is (most of) the other, ignoring case."""
    a, b = candidate.casefold(), reference.casefold()
    if not a or not b:
        return False
    return (a in b and len(a) * 2 >= len(b)) or b in a


def choose_title(tree: lxml.html.HtmlElement, meta: dict[str, str], hint: str | None) -> str:
    """The feed's title, else the headline element or og:title that agrees with <title>, else <title>."""
    if hint and hint.strip():
        return squash(hint)
    site_name = squash(meta.get("og:site_name", ""))

    def headline(title: str) -> str:
        title = squash(title)
        return title if title == site_name else strip_site_suffix(strip_declared_site_name(title, site_name))

    stripped = headline(tree.findtext(".//title") or "")
    candidates = [squash(h1.text_content()) for h1 in tree.iter("h1")]
    candidates += [meta.get("og:title", ""), meta.get("twitter:title", "")]
    for candidate in candidates:
        candidate = headline(candidate)
        if stripped and overlaps(candidate, stripped):
            # A headline cut short by a broken attribute (og:title="…"…) is a
            # prefix of the <title>; the <title> is then the better text.
            if stripped.startswith(candidate) and len(candidate) < len(stripped):
                rest = stripped[len(candidate) :]
                if rest[:1] not in ("_", "|", "｜", " ", "-"):
                    return stripped
            return candidate
    if stripped:
        return stripped
    for candidate in candidates:
        if candidate:
            return headline(candidate)
    return ""


# --- where the byline is -------------------------------------------------------------------------


@dataclass
class Zone:
    """Where bylines may be: around the headline, and in elements named for them."""

    headline: list[str] = field(default_factory=list)  # text after the headline, then text before it
    marked: list[str] = field(default_factory=list)  # elements whose class or id says time/source/author
    page: str = ""  # the page's visible text, for the editor line

    @property
    def all(self) -> list[str]:
        return self.headline + self.marked


def byline_zone(tree: lxml.html.HtmlElement, title: str) -> Zone:
    """Short texts where a byline may sit, nearest to the headline first.

    The page is flattened to text (without scripts, footers and copyright
    blocks) to find what follows and precedes the headline.
    """
    flat, start, end = flatten(tree, _headline_element(tree, title))
    if start < 0 and title:
        start = flat.find(title)
        end = start + len(title) if start >= 0 else -1
    zone = Zone(page=flat)
    if start >= 0:
        zone.headline.append(flat[end : end + BYLINE_AFTER])
        zone.headline.append(flat[max(0, start - BYLINE_BEFORE) : start])
    for element in _marked_elements(tree, _BYLINE_CLASS):
        text = element.text_content()
        if len(text) <= 2000 and 0 < len(squash(text)) <= 200:
            # One line per block, as after the headline: squashed into one line, "By | Benjamin Romano |
            # Seattle Times business reporter" (three blocks) named "Benjamin Romano Seattle Times".
            lines = [line for line in (squash(part) for part in flatten(element)[0].split("\n")) if line]
            zone.marked.append("\n".join(_rejoin_byline(lines)))
    return zone


# A block that leads into the next ("By", "记者") or leaves a list of names open ("Tariq Malik ,"), and
# a block that continues one (", Minh Do"): a byline's pieces in blocks of their own.
_OPENS_BYLINE = re.compile(r"(?:^(?:By|Par|Von|Por|作者|记者|撰文)\s*[:：]?|[,，、&]|\s(?:and|und|et|y))$")
_CONTINUES_BYLINE = re.compile(r"^(?:[,，、&]|(?:and|und|et|y)\s)")


def _rejoin_byline(lines: list[str]) -> list[str]:
    joined: list[str] = []
    for line in lines:
        if joined and (_OPENS_BYLINE.search(joined[-1]) or _CONTINUES_BYLINE.match(line)):
            joined[-1] = f"{joined[-1]} {line}"
        else:
            joined.append(line)
    return joined


def _marked_elements(tree: lxml.html.HtmlElement, marker: re.Pattern[str]) -> list[lxml.html.HtmlElement]:
    """Elements whose class or id matches ``marker``, outside navigation and footers, in document order."""
    found: list[lxml.html.HtmlElement] = []
    # Walk once, pruning skipped subtrees, instead of testing every element's ancestors.
    stack = [tree]
    while stack:
        element = stack.pop()
        if element is not tree and is_skipped(element):
            continue
        if element.tag not in ("html", "body") and marker.search(
            f"{element.get('class', '')} {element.get('id', '')}"
        ):
            found.append(element)
        stack.extend(reversed(element))
    return found


def _headline_element(tree: lxml.html.HtmlElement, title: str) -> lxml.html.HtmlElement | None:
    if not title:
        return None
    for h1 in tree.iter("h1"):
        text = squash(h1.text_content())
        if overlaps(text, title) or overlaps(title, text):
            return h1
    return None


# --- author --------------------------------------------------------------------------------------


def choose_author(tree: lxml.html.HtmlElement, meta: dict[str, str], zone: Zone, text: str) -> str | None:
    """A byline near the headline or at the text's edges, then meta/JSON-LD, then marked elements, then the editor.

    The byline comes first because Chinese portals fill <meta name="author">
    with their own name or the syndicating outlet (网易, 新京报), while the
    reporter is named in the byline (记者 王晓明).
    """
    site_names = _site_names(tree, meta)
    lines = text.splitlines()
    # Bylines open the lead ("新京报快讯（记者 王晓明）今日…") or close the text.
    edges = [_head(line, 100) for line in lines[:2]] + [_tail(line, 60) for line in lines[-3:]]
    for snippet in [*zone.all, *edges]:
        if name := byline_author(snippet):
            return name
    for key in _AUTHOR_META:
        value = meta.get(key, "")
        if _plausible_author(value, site_names):
            return squash(value)
    for item in json_ld(tree):
        names = [name for name in _json_ld_authors(item.get("author")) if _plausible_author(name, site_names)]
        if names:
            return ", ".join(names)
    for element in _marked_elements(tree, _AUTHOR_MARK):
        name = squash(element.text_content()[:200])
        name = re.sub(r"^(?:By|Par|Von|Por)\s+", "", name)
        if _PERSON_NAME.match(name) and _plausible_author(name, site_names):
            return name
    return editor_name(zone.page)


def _head(line: str, size: int) -> str:
    """The first `size` characters of `line`, without the word or run of characters the cut splits.

    A cut inside "记者走访了多家企业" left "…记者走访" at the end, read as the byline "记者 走访".
    """
    if len(line) <= size or not _WORD.match(line[size]):
        return line[:size]
    return _LAST_WORD.sub("", line[:size])


def _tail(line: str, size: int) -> str:
    """The last `size` characters of `line`, without the word the cut splits (as `_head`)."""
    if len(line) <= size or not _WORD.match(line[-size - 1]):
        return line[-size:]
    return _FIRST_WORD.sub("", line[-size:])


def editor_name(page_text: str) -> str | None:
    """The responsible editor of a Chinese article (``责任编辑：王晓明_NB123``), if the page names one."""
    match = _EDITOR.search(to_simplified(page_text)) if "编" in page_text or "編" in page_text else None
    if match is None or match.group("name") in _NOT_NAMES:
        return None
    return match.group("name")


def byline_author(text: str) -> str | None:
    """The author named in a byline such as ``作者：王晓明``, ``（记者 王晓明 李华）`` or ``By Jane Doe``.

    >>> byline_author("2025-02-10 来源：江南日报 记者 王晓明 李华 报道")
    '王晓明、李华'
    """
    for line in text.splitlines():
        line = squash(line)
        if not line or len(line) > 120:
            continue
        # Patterns are written in simplified characters (记者, 报道); keep the
        # names as the page spells them when the conversion kept positions.
        simple = to_simplified(line) if HAN.search(line) else line
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
        if english := _EN_BYLINE.search(line):
            # "Tariq Malik , Mike Wall": a byline's blocks leave a space before the comma.
            return re.sub(r"\s+,", ",", squash(english.group("name"))).rstrip(",")
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
        return [squash(value)]
    if isinstance(value, list):
        return [name for item in value for name in _json_ld_authors(item)]
    if isinstance(value, dict) and value.get("@type", "Person") == "Person":
        return _json_ld_authors(value.get("name"))
    return []


def _site_names(tree: lxml.html.HtmlElement, meta: dict[str, str]) -> set[str]:
    names = {meta.get("og:site_name", ""), meta.get("application-name", "")}
    page_title = squash(tree.findtext(".//title"))
    names.update(part for part in _TITLE_SEPARATOR.split(page_title)[1:])
    return {name.casefold() for name in names if name}


def _plausible_author(value: str, site_names: set[str]) -> bool:
    value = squash(value).casefold()
    if not value or len(value) > 80 or "@" in value or "://" in value:
        return False
    if not any(char.isalpha() for char in value) or value in {"name", "admin", "author", "未知", "佚名"}:
        return False
    # Chinese portals put their own name in <meta name="author"> ("网易" on 网易财经).
    return not any(value in site or site in value for site in site_names)
