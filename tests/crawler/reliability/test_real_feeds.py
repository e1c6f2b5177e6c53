"""Every feed of ../shared/corpus/feeds through the feed path: Chinese titles decoded, broken feeds reported as broken.

The corpus (49 feeds captured by feed-reader projects: tech.qq.com in GB2312, OSChina,
Chinese blogs, a GBK JSON Feed, a UTF-8 feed labelled utf-16, The Guardian, heise,
BBC Urdu, …) lives outside the repository; the test skips when it is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.parse.feeds import NotAFeedError, decode_feed, read_feed
from crawler.parse.garbled import looks_garbled
from tests.conftest import SHARED

CORPUS = SHARED / "corpus" / "feeds"
FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name not in ("LICENSE", "README.md")) \
    if CORPUS.is_dir() else []

# First entry title of each Chinese feed with entries.
CHINESE_TITLES = {
    "rss-parser/encoding-gb2312.xml": "拟298亿元重组盛大游戏后 世纪华通发20亿回购预案",
    "rssant/parser/warn/https-www-oschina-net-news-rss-show-industry.xml": "Chrome OS 的 Linux 终端迎来一系列新功能，运行更轻松",
    "rssant/parser/warn/http-www-caogen-com-adminsite-rss-xml.xml": "疫情之后形势预判",
    "rssant/parser/warn/https-laod-cn-feed.xml": "思念与希望同在",
    "rssant/parser/warn/https-tmioe-com-feed.xml": "赘婿.更16集HD1080P/4K2160P.国语中字 (2021)",
    "rssant/parser/well/bilibili_iframe.xml": "五年前拿奖到手软，这款锤子手机的设计今天看依然惊艳【极客博物馆第五十二期】",
    "rssant/parser/well/dapenti_blog_iframe.xml": "CNN女主持人Clarissa Ward正戴着头巾在喀布尔街头采访",
    "rssant/parser/well/kilerd-me-rss.xml": "2019 个人总结",
    "rssant/parser/well/www-ruangyifeng-com-blog-atom.xml": "科技爱好者周刊：第 102 期",
    "rssant/parser/well/http-www-pptmall-net-feed.xml": "起跑线上的女生视频素材背景标题左侧进入PPT动画模板素材下载",
}
# Chinese feeds without followable entries (synthetic fixtures): their text must still decode.
CHINESE_TEXT = {
    "rssant/encoding/chardet/big5.xml": "《11月的蕭邦》是台灣歌手周杰倫發行第六張國語專輯",
    "rssant/encoding/chardet/gb2312_gb18030.xml": "信息交换用汉字编码字符集·基本集，通常简称GB",
    "feedparser/illformed/chardet/gb2312.xml": "不归移民漫画系列：专业工作",
    "rssant/encoding/chardet/gbk_gb18030.json": "中国国家标准简体中文字符集，全称《信息交换用汉字编码字符集·基本集》",
    "rss-parser/encoding-gb2312.xml": "腾讯科技",
}
# Not feeds, or feeds with nothing to follow (no entry has a link): refused, with the reason.
BROKEN = {
    "rssant/parser/failed/http-yx-bsh-me-feed.xml": "not well-formed",  # an HTML page at /feed
    "rssant/parser/failed/https-egoist-moe-atom-xml.xml": "not well-formed",  # an HTML fragment
    "rssant/parser/failed/jsonfeed-failed-syntax.json": "not a readable JSON Feed",
    "rssant/feed_type/html/http-blog-hexun-com-group-getrssresouce-aspx-classid-74.xml": "not",  # GBK maintenance page
    "miniflux/xml/testdata/iso88591_utf8_mismatch.xml": "no RSS, Atom or JSON Feed",  # plain XML
    "feedparser/illformed/aaa_illformed.xml": "not well-formed",
    "feedparser/illformed/undeclared_namespace.xml": "not well-formed",
    "feedparser/encoding/bozo_invalid-bytes-with-bom.xml": "not well-formed",
    "feedparser/encoding/bozo_encoding_mismatch_crash.xml": "no link",
    "feedparser/illformed/chardet/gb2312.xml": "no link",
    "feedparser/illformed/rss_incomplete_cdata.xml": "no link",
    "rssant/encoding/chardet/gb2312_gb18030.xml": "no link",
    "miniflux/encoding/testdata/invalid-prolog.xml": "no link",
    "miniflux/encoding/testdata/utf8-incorrect-prolog.xml": "no link",
}
# Valid feeds with no entries at all (an empty <rss>, an Atom feed with only its title).
EMPTY = {
    "feedparser/encoding/big5.xml", "feedparser/illformed/chardet/big5.xml", "rssant/encoding/chardet/big5.xml",
    "feedparser/encoding/http_application_atom_xml_gb2312_encoding.xml",
    "feedparser/encoding/http_application_atom_xml_gb2312_charset_overrides_encoding.xml",
    "feedparser/illformed/http_high_bit_date.xml", "miniflux/encoding/testdata/windows-1252-incorrect-prolog.xml",
}

pytestmark = pytest.mark.skipif(not FILES, reason=f"feed corpus not found at {CORPUS}")


def _name(path: Path) -> str:
    return path.relative_to(CORPUS).as_posix()


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_real_feed_is_read_or_reported_broken(path: Path) -> None:
    name = _name(path)
    body = path.read_bytes()
    if name in BROKEN:
        with pytest.raises(NotAFeedError, match=BROKEN[name]):
            read_feed(body, f"https://example.org/{name}")
        return
    document = read_feed(body, f"https://example.org/{name}")
    if name in EMPTY:
        assert document.entries == []
    else:
        assert document.entries, name
    garbled = [entry.title for entry in document.entries if entry.title and looks_garbled(entry.title)]
    assert garbled == []
    if name in CHINESE_TITLES:
        assert document.entries[0].title == CHINESE_TITLES[name]


# Western feeds that declare no encoding (windows-1252 bytes): a title that shows their accents.
WESTERN_TITLES = {
    # The detector's best guess was cp1257 ("English", its accents counting for nothing):
    # "simulaēões de 2ŗ turno", in a feed the decoding notes say was fixed for exactly that.
    "rss-parser/uolNoticias.rss": "Ibope: Bolsonaro perde de Haddad, Ciro e Alckmin em simulações de 2º turno",
    "miniflux/parser/testdata/no_encoding_ISO-8859-1.xml": "Masters en Psycho\xa0: une simplificationet#8230; très complexe",
}


@pytest.mark.parametrize("name", sorted(WESTERN_TITLES))
def test_undeclared_western_feed_keeps_its_accents(name: str) -> None:
    if not (CORPUS / name).is_file():
        pytest.skip(f"{name} not in the corpus")
    titles = [entry.title for entry in read_feed((CORPUS / name).read_bytes(), f"https://example.org/{name}").entries]
    assert WESTERN_TITLES[name] in titles


@pytest.mark.parametrize("name", sorted(CHINESE_TEXT))
def test_chinese_feed_text_is_decoded(name: str) -> None:
    if not (CORPUS / name).is_file():
        pytest.skip(f"{name} not in the corpus")
    text, _ = decode_feed((CORPUS / name).read_bytes())
    assert CHINESE_TEXT[name] in text
    assert not looks_garbled(text)


def test_the_corpus_is_all_accounted_for() -> None:
    names = {_name(p) for p in FILES}
    assert len(names) == 49
    assert set(BROKEN) | EMPTY | set(CHINESE_TITLES) <= names
    # A feed with real (followable) entries is never on the broken list: the 877-item
    # feed labelled utf-16 and the GBK JSON Feed are read, not refused.
    assert "rssant/encoding/chardet/utf-8.not-utf-16.xml" not in BROKEN
    assert "rssant/encoding/chardet/gbk_gb18030.json" not in BROKEN
