"""Load the public extraction corpora in ``../shared/corpus`` as one list of :class:`Page` per corpus.

Each loader turns one corpus's own layout (see the corpus folder's README)
into the same record: the page's bytes, a URL, the ground-truth body if the
corpus has one, trafilatura-style "with"/"without" segments if it has those,
and whatever metadata it annotates. Annotations that a corpus README itself
calls wrong are dropped here, each with the reason, so the benchmark can print
them instead of scoring against them.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import lxml.html

CORPUS_ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
# Our own Chinese pages, kept in the repository (bench/data/extraction-zh/README.md).
EXTRACTION_ZH = Path(__file__).resolve().parent / "data" / "extraction-zh"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class DateTruth:
    """A publication day; ``year`` is None when the annotation gives only month and day."""

    year: int | None
    month: int
    day: int

    def matches(self, value: date) -> bool:
        return (self.year in (None, value.year)) and (self.month, self.day) == (value.month, value.day)

    def __str__(self) -> str:
        return f"{self.year or '????'}-{self.month:02d}-{self.day:02d}"


@dataclass(frozen=True)
class Page:
    """One corpus page and what it is known to hold."""

    corpus: str
    name: str
    body: bytes
    url: str
    language: str  # "zh", "en", "ja", ... (of the article)
    tz: ZoneInfo  # the publisher's time zone
    text: str | None = None  # ground-truth article body
    with_segments: tuple[str, ...] = ()
    without_segments: tuple[str, ...] = ()
    title: str | None = None
    author: str | None = None
    published: DateTruth | None = None
    excluded: tuple[str, ...] = field(default_factory=tuple)  # annotations dropped, with why
    content_type: str | None = None  # the HTTP Content-Type header the page came with
    split: str | None = None  # "dev" or "test" where the corpus has a frozen split
    batch: str | None = None  # pages written at another time than the rest ("b"), measured apart

    @property
    def is_chinese(self) -> bool:
        return self.language == "zh"


@dataclass(frozen=True)
class Corpus:
    name: str
    pages: list[Page]
    note: str = ""


def load_all(root: Path = CORPUS_ROOT) -> tuple[list[Corpus], list[str]]:
    """Every corpus found under ``root``, and a message for each one that is missing."""
    loaders = (
        ("article-extraction-benchmark", load_aeb),
        ("gne-generalnewsextractor", load_gne),
        ("trafilatura-evaldata-zh", load_trafilatura_zh),
        ("newspaper-zh", load_newspaper_zh),
        ("readability-test-pages", load_readability),
    )
    found, missing = [], []
    for folder, loader in loaders:
        path = root / folder
        if not path.is_dir():
            missing.append(f"skipped {folder}: {path} not found")
            continue
        found.append(loader(path))
    return found, missing


# --- our Chinese pages ------------------------------------------------------------------------------

EXTRACTION_ZH_NAME = "extraction-zh"


def load_extraction_zh(path: Path = EXTRACTION_ZH) -> Corpus:
    rows = (line.split("\t") for line in (path / "manifest.tsv").read_text(encoding="utf-8").splitlines()[1:])
    pages = []
    for file, _codec, _declared, content_type, kind, _layout, split, _note in rows:
        name = file.removesuffix(".html")
        pages.append(
            Page(
                corpus=EXTRACTION_ZH_NAME,
                name=f"{name}-{kind}",
                body=(path / "pages" / file).read_bytes(),
                url=f"http://{kind}.example.cn/{name}.html",
                language="zh",
                tz=SHANGHAI,
                text=(path / "pages" / f"{name}.txt").read_text(encoding="utf-8"),
                content_type=None if content_type == "-" else content_type,
                split=split,
                batch="b" if kind == "cms-b" else None,
            )
        )
    dev = sum(page.split == "dev" for page in pages)
    return Corpus(
        EXTRACTION_ZH_NAME, pages, f"{len(pages)} Chinese pages written for mediawatch ({dev} dev, {len(pages) - dev} test)"
    )


# --- AEB -----------------------------------------------------------------------------------------


def load_aeb(path: Path) -> Corpus:
    truth = json.loads((path / "ground-truth.json").read_text(encoding="utf-8"))
    pages = [
        Page(
            corpus="AEB",
            name=key,
            body=gzip.decompress((path / "html" / f"{key}.html.gz").read_bytes()),
            url=item["url"],
            language="en",
            tz=ZoneInfo("UTC"),
            text=item["articleBody"],
        )
        for key, item in sorted(truth.items())
    ]
    return Corpus("AEB", pages, "181 English pages, human-annotated body")


def load_aeb_reference_outputs(path: Path) -> dict[str, dict[str, str]]:
    """The published prediction files kept in the corpus: {extractor: {page id: body}}."""
    outputs = {}
    for file in sorted((path / "output").glob("*.json")):
        data = json.loads(file.read_text(encoding="utf-8"))
        data = data["output"] if "output" in data and "version" in data else data
        outputs[file.stem] = {key: (value.get("articleBody") or "") for key, value in data.items()}
    return outputs


# --- GNE -----------------------------------------------------------------------------------------

# Values in GNE's recorded output that are not what they claim to be (its README
# calls the file "a reference, not truth" and names the first two).
_GNE_NOT_AUTHORS = {"搜索": "a search button, not an author", "未知": "placeholder for 'unknown'"}
_GNE_BAD_TEXT = {"tests/toutiao/2.html.gz": "gallery caption, not the article (corpus README)"}


def load_gne(path: Path) -> Corpus:
    expected = json.loads((path / "expected.json").read_text(encoding="utf-8"))
    pages = []
    for file in sorted((path / "tests").rglob("*.html.gz")):
        key = str(file.relative_to(path))
        item = expected.get(key)
        name = key.removeprefix("tests/").removesuffix(".html.gz")
        base = Page(
            corpus="GNE",
            name=name,
            body=gzip.decompress(file.read_bytes()),
            url=f"https://{name.split('/')[0]}.example.cn/{name}.html",
            language="zh",
            tz=SHANGHAI,
        )
        if item is None:
            pages.append(base)
            continue
        excluded = []
        text = item["content"]
        if key in _GNE_BAD_TEXT:
            excluded.append(f"text: {_GNE_BAD_TEXT[key]}")
            text = None
        author = item["author"] or None
        if author in _GNE_NOT_AUTHORS:
            excluded.append(f"author {author!r}: {_GNE_NOT_AUTHORS[author]}")
            author = None
        pages.append(
            dataclasses.replace(
                base,
                text=text,
                title=item["title"] or None,
                author=author,
                published=parse_day(item["publish_time"]),
                excluded=tuple(excluded),
            )
        )
    return Corpus("GNE", pages, "60 Chinese pages, GNE's recorded output for 20 (not human-checked)")


# --- trafilatura eval (zh) ------------------------------------------------------------------------

_EVAL_TZ = {"scmp.com": ZoneInfo("Asia/Hong_Kong")}


def load_trafilatura_zh(path: Path) -> Corpus:
    data = json.loads((path / "evaldata-subset.json").read_text(encoding="utf-8"))
    pages = []
    for url, item in data.items():
        file = item["file"]
        tz = next((zone for host, zone in _EVAL_TZ.items() if host in url), SHANGHAI)
        pages.append(
            Page(
                corpus="trafilatura-zh",
                name=file.removesuffix(".html"),
                body=(path / file).read_bytes(),
                url=url,
                language="en" if "scmp.com" in url else "zh",
                tz=tz,
                with_segments=tuple(item.get("with", ())),
                without_segments=tuple(item.get("without", ())),
                title=(item.get("title") or "").strip() or None,
                author=(item.get("author") or "").strip() or None,
                published=parse_day(item.get("date") or ""),
            )
        )
    return Corpus("trafilatura-zh", pages, "6 pages, human 'with'/'without' segments")


# --- newspaper ------------------------------------------------------------------------------------


def load_newspaper_zh(path: Path) -> Corpus:
    page = Page(
        corpus="newspaper-zh",
        name="chinese_article",
        body=(path / "chinese_article.html").read_bytes(),
        url="http://news.sohu.com/20050601/n225789219.shtml",
        language="zh",
        tz=SHANGHAI,
        text=(path / "chinese.txt").read_text(encoding="utf-8"),
    )
    return Corpus("newspaper-zh", [page], "1 Chinese page, newspaper's expected text (snapshot)")


# --- readability ----------------------------------------------------------------------------------

_READABILITY_TZ = {
    "bbc-1": "Europe/London",
    "liberation-1": "Europe/Paris",
    "lemonde-1": "Europe/Paris",
    "heise": "Europe/Berlin",
    "seattletimes-1": "America/Los_Angeles",
    "theverge": "America/New_York",
    "pixnet": "Asia/Taipei",
    "yahoo-4": "Asia/Tokyo",
}
_READABILITY_LANG = {"gmw": "zh", "qq": "zh", "youth": "zh", "pixnet": "zh", "yahoo-4": "ja"}
_READABILITY_NOT_AUTHORS = {
    "seattletimes-1": "the byline field holds the dateline",
    "yahoo-4": "'個人' is a label, not a name",
}


def load_readability(path: Path) -> Corpus:
    pages = []
    for folder in sorted(p for p in path.iterdir() if p.is_dir()):
        meta = json.loads((folder / "expected-metadata.json").read_text(encoding="utf-8"))
        name = folder.name
        tz = ZoneInfo(_READABILITY_TZ.get(name, "UTC" if name not in _READABILITY_LANG else "Asia/Shanghai"))
        excluded = []
        author = meta.get("byline") or None
        if author and name in _READABILITY_NOT_AUTHORS:
            excluded.append(f"author {author!r}: {_READABILITY_NOT_AUTHORS[name]}")
            author = None
        pages.append(
            Page(
                corpus="readability",
                name=name,
                body=(folder / "source.html").read_bytes(),
                url=f"https://{name}.example.com/article",
                language=_READABILITY_LANG.get(name, (meta.get("lang") or "en")[:2]),
                tz=tz,
                text=html_to_text((folder / "expected.html").read_text(encoding="utf-8")),
                title=meta.get("title") or None,
                author=author,
                published=_readability_day(meta.get("publishedTime"), tz),
                excluded=tuple(excluded),
            )
        )
    return Corpus("readability", pages, "25 pages (5 CJK), Readability.js snapshot")


def _readability_day(value: str | None, tz: ZoneInfo) -> DateTruth | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return parse_day(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(tz)
    return DateTruth(moment.year, moment.month, moment.day)


# --- helpers --------------------------------------------------------------------------------------

_FULL_DAY = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
_MONTH_DAY = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*日")


def parse_day(value: str) -> DateTruth | None:
    """The day in an annotation such as ``2019-09-05 11:10``, ``2019年09月07日`` or ``09月07日``."""
    if match := _FULL_DAY.search(value):
        return DateTruth(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    if match := _MONTH_DAY.search(value):
        return DateTruth(None, int(match.group(1)), int(match.group(2)))
    return None


# fmt: off
_BLOCKS = frozenset({
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "td", "th",
    "section", "article", "blockquote", "pre", "figure", "figcaption", "header", "footer", "dd", "dt",
})
# fmt: on


def html_to_text(html: str) -> str:
    """Visible text of an HTML fragment, a line break at every block so words never run together."""
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    for element in root.iter("script", "style"):
        element.text = ""
    parts: list[str] = []

    def walk(element: lxml.html.HtmlElement) -> None:
        block = isinstance(element.tag, str) and element.tag in _BLOCKS
        if block:
            parts.append("\n")
        if isinstance(element.tag, str) and element.text:
            parts.append(element.text)
        for child in element:
            walk(child)
            if child.tail:
                parts.append(child.tail)
        if block:
            parts.append("\n")

    walk(root)
    lines = (" ".join(line.split()) for line in "".join(parts).splitlines())
    return "\n".join(line for line in lines if line)
