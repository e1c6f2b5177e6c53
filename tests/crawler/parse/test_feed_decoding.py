"""Feed bytes are decoded like pages: declared charsets verified, GBK/Big5 read as their supersets, BOM first."""

from __future__ import annotations

import codecs
import json

import pytest

from crawler.parse.feeds import NotAFeedError, parse_feed

TITLES = ["苏州也在问：为什么没有六小龙", "南京追问创新生态", "江苏官媒连发三问"]
BIG5_TITLES = ["蘇州也在問：為什麼沒有六小龍", "南京追問創新生態", "江蘇官媒連發三問"]


def rss(titles: list[str], *, encoding: str, declared: str | None, channel: str = "江苏", stop: str = "。") -> bytes:
    head = f'<?xml version="1.0" encoding="{declared}"?>\n' if declared else ""
    items = "".join(
        f"<item><title>{t}</title><link>https://news.example.cn/{i}.html</link>"
        f"<description>{t}{stop}{t}{stop}</description></item>"
        for i, t in enumerate(titles)
    )
    return f"{head}<rss version='2.0'><channel><title>{channel}</title>{items}</channel></rss>".encode(encoding)


def titles_of(body: bytes, content_type: str | None = "application/rss+xml") -> list[str | None]:
    return [entry.title for entry in parse_feed(body, "https://news.example.cn/rss.xml", content_type)]


def test_gbk_feed_without_declaration_is_read_as_gbk() -> None:
    assert titles_of(rss(TITLES, encoding="gbk", declared=None)) == TITLES


def test_big5_feed_without_declaration_is_read_as_big5() -> None:
    assert titles_of(rss(BIG5_TITLES, encoding="big5", declared=None, channel="江蘇")) == BIG5_TITLES


def test_gbk_bytes_declared_utf8_are_read_as_gbk() -> None:
    assert titles_of(rss(TITLES, encoding="gbk", declared="utf-8")) == TITLES


def test_gbk_bytes_behind_a_utf8_header_are_read_as_gbk() -> None:
    body = rss(TITLES, encoding="gbk", declared="gb2312")
    assert titles_of(body, "application/rss+xml; charset=utf-8") == TITLES


def test_gb2312_declaration_reads_gbk_only_characters() -> None:
    # 镕 and 喆 are in GBK but not GB2312: a strict gb2312 codec loses them.
    titles = ["朱镕基谈改革", "陶喆回南京"]
    assert titles_of(rss(titles, encoding="gbk", declared="gb2312")) == titles


def test_one_bad_byte_in_a_utf8_feed_does_not_turn_it_into_latin() -> None:
    body = rss(TITLES, encoding="utf-8", declared="utf-8")
    body = body.replace("南京".encode(), b"\xff" + "南京".encode(), 1)
    titles = titles_of(body)
    assert titles[0] == TITLES[0] and titles[2] == TITLES[2]
    assert titles[1] is not None and "南京追问创新生态" in titles[1]
    assert not any("\ufffd" in (t or "") for t in titles)


def test_feed_labelled_utf16_whose_bytes_are_utf8_is_read() -> None:
    many = [f"{TITLES[i % 3]}{i}" for i in range(877)]
    entries = parse_feed(rss(many, encoding="utf-8", declared="utf-16"), "https://news.example.cn/rss.xml")
    assert len(entries) == 877
    assert entries[876].title == many[876]


def test_bom_wins_over_the_declaration() -> None:
    body = codecs.BOM_UTF8 + rss(TITLES, encoding="utf-8", declared="gbk")
    assert titles_of(body, "application/rss+xml; charset=gbk") == TITLES


def test_gbk_json_feed_is_read() -> None:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "江苏",
        "items": [{"id": str(i), "url": f"https://news.example.cn/{i}.html", "title": t} for i, t in enumerate(TITLES)],
    }
    body = json.dumps(document, ensure_ascii=False).encode("gbk")
    assert titles_of(body, "application/feed+json") == TITLES


def test_non_ascii_only_in_summaries_is_still_read() -> None:
    body = rss(TITLES, encoding="gb18030", declared=None)
    [first, *_] = parse_feed(body, "https://news.example.cn/rss.xml")
    assert first.summary == f"{TITLES[0]}。{TITLES[0]}。"


def test_html_at_a_feed_url_is_not_a_feed() -> None:
    with pytest.raises(NotAFeedError):
        parse_feed("<html><body><p>首页</p></body></html>".encode(), "https://news.example.cn/rss.xml", "text/html")


# Western European feeds in windows-1252 that declare nothing: the detector's guess is a
# tie between cp1252 and its neighbours (cp1250, cp1257, …), and a neighbour came out
# first, so "Simulações" read "Simulaçőes" or "Simulaēões".
LATIN_TITLES = {
    "pt": ["Simulações mostram avanço da inteligência artificial", "São Paulo lança programa de aceleração",
           "População está mais conectada, diz pesquisa"],
    "es": ["El Gobierno anuncia inversión en educación", "Año récord para las exportaciones españolas",
           "La economía crece más de lo previsto"],
    "fr": ["Les élèves découvrent l'intelligence artificielle", "Économie : la croissance reste fragile",
           "Où en est la réforme des retraites ?"],
    "de": ["Größere Förderung für Universitäten", "Bürger wählen am Sonntag", "Überraschung beim Außenhandel"],
}


@pytest.mark.parametrize("language", sorted(LATIN_TITLES))
def test_undeclared_windows_1252_feed_is_read_as_windows_1252(language: str) -> None:
    titles = LATIN_TITLES[language]
    assert titles_of(rss(titles, encoding="cp1252", declared=None, channel="Notícias", stop=". ")) == titles


@pytest.mark.parametrize(("encoding", "titles"), [
    ("cp1250", ["Wybory w Łodzi: ścisła rywalizacja", "Żółta kartka dla ministra", "Świąteczne zakupy rosną"]),
    ("cp1251", ["Правительство объявило о новых мерах", "Экономика растёт быстрее прогноза", "Выборы пройдут в марте"]),
])
def test_undeclared_feeds_in_other_single_byte_codecs_still_read_right(encoding: str, titles: list[str]) -> None:
    # Preferring windows-1252 on a tie must not override a guess the bytes really support.
    assert titles_of(rss(titles, encoding=encoding, declared=None, channel="News", stop=". ")) == titles


@pytest.mark.parametrize(("encoding", "header", "titles"), [
    # A server's default "charset=utf-8" for every .xml over a feed its prolog says is ISO-8859-1:
    # the header was believed and the undecodable letters dropped ("Portrt fr"), or, with as few
    # accents as here, the bytes were taken for GB18030 ("Portr鋞 f黵").
    ("iso-8859-1", "utf-8", ["KI-Porträt für 432.500 Dollar versteigert", *(f"Machine learning, part {i}" for i in range(20))]),
    # A server's default ISO-8859-1 over a KOI8-R or windows-1251 feed: Latin mojibake ("ðÅÒ×ÁÑ").
    ("koi8-r", "iso-8859-1", ["Первая новость", "Вторая новость из Москвы"]),
    ("windows-1251", "iso-8859-1", ["Цитата #17703", "Новости дня"]),
])
def test_the_xml_declaration_speaks_when_the_http_charset_does_not_fit(
    encoding: str, header: str, titles: list[str]
) -> None:
    body = rss(titles, encoding=encoding, declared=encoding, channel="news", stop=".")
    assert titles_of(body, f"application/rss+xml; charset={header}") == titles
