"""Choosing the codec for a page's bytes: BOM, header, meta, detection, fallback."""

from __future__ import annotations

import codecs

import pytest

from crawler.extract.article import extract_article
from crawler.extract.decode import charset_from_content_type, decode_page, normalise_charset
from tests.conftest import TEST_DATA

# Enough running text for a detector to have something to go on.
CHINESE = "江南市新能源公交线路全面开通，全市公交实现全面电动化。据市交通运输局介绍，此次投入运营的车辆共计三百二十辆。"
TRADITIONAL = "港灣區舉辦第十屆海洋文化節，主辦單位規劃了傳統漁船展示與海洋生態講座，吸引大批民眾參觀。"


def page(meta_charset: str | None, body: str) -> str:
    meta = f'<meta charset="{meta_charset}">' if meta_charset else ""
    return f"<html><head>{meta}<title>Test</title></head><body><p>{body}</p></body></html>"


def test_wrong_utf8_header_on_gbk_page_is_caught() -> None:
    body = page("gb2312", CHINESE).encode("gbk")
    decoded = decode_page(body, "text/html; charset=utf-8")
    assert decoded.encoding == "gb18030"
    assert decoded.reason == "meta"
    assert decoded.declared == "gb2312"
    assert CHINESE in decoded.text


def test_gbk_page_without_any_declaration_is_detected() -> None:
    body = page(None, CHINESE * 3).encode("gbk")
    decoded = decode_page(body, "text/html")
    assert decoded.encoding == "gb18030"
    assert decoded.reason == "detected"
    assert decoded.declared is None
    assert CHINESE in decoded.text


def test_wrong_header_without_meta_falls_through_to_detection() -> None:
    decoded = decode_page(page(None, CHINESE * 3).encode("gbk"), "text/html; charset=utf-8")
    assert decoded.reason == "detected"
    assert decoded.declared == "utf-8"  # what the server claimed, kept for the record
    assert CHINESE in decoded.text


def test_gb2312_label_decodes_characters_only_gbk_has() -> None:
    # 镕 and 喆 are outside GB2312; browsers decode the label as GBK/GB18030.
    text = "朱镕基与张喆出席会议。"
    decoded = decode_page(page("gb2312", text).encode("gbk"))
    assert text in decoded.text
    assert "\ufffd" not in decoded.text


def test_big5_page_decodes_with_the_hkscs_superset() -> None:
    # 啱 is a Hong Kong (HKSCS) character that plain Big5 lacks.
    text = TRADITIONAL + "佢哋啱啱到咗。"
    decoded = decode_page(page("big5", text).encode("big5hkscs"), "text/html")
    assert decoded.encoding == "big5hkscs"
    assert decoded.reason == "meta"
    assert text in decoded.text


def test_bom_wins_over_a_wrong_header_and_is_stripped() -> None:
    body = codecs.BOM_UTF8 + page("gbk", CHINESE).encode("utf-8")
    decoded = decode_page(body, "text/html; charset=gbk")
    assert decoded.encoding == "utf-8"
    assert decoded.reason == "bom"
    assert decoded.declared == "gbk"
    assert decoded.text.startswith("<html>")


def test_utf16_bom_is_honoured() -> None:
    body = codecs.BOM_UTF16_LE + page(None, CHINESE).encode("utf-16-le")
    decoded = decode_page(body)
    assert decoded.reason == "bom"
    assert CHINESE in decoded.text


def test_http_header_charset_is_used_when_the_bytes_agree() -> None:
    decoded = decode_page(page(None, CHINESE).encode("gb18030"), 'text/html; Charset="GBK"')
    assert decoded.reason == "http-header"
    assert decoded.declared == "gbk"
    assert decoded.encoding == "gb18030"


def test_gb2312_meta_on_a_page_resaved_as_utf8_is_not_believed() -> None:
    decoded = decode_page(page("gb2312", CHINESE).encode("utf-8"))
    assert decoded.encoding == "utf-8"
    assert decoded.reason == "detected"
    assert decoded.declared == "gb2312"
    assert CHINESE in decoded.text


def test_latin1_header_decodes_as_windows_1252_like_browsers() -> None:
    body = "<p>“Smart quotes” cost 5 €, café</p>".encode("cp1252")
    decoded = decode_page(body, "text/html; charset=ISO-8859-1")
    assert decoded.encoding == "cp1252"
    assert decoded.reason == "http-header"
    assert "“Smart quotes” cost 5 €, café" in decoded.text


def test_server_default_latin1_header_yields_to_the_pages_own_meta() -> None:
    body = page("gb2312", CHINESE).encode("gbk")
    decoded = decode_page(body, "text/html; charset=iso-8859-1")
    assert decoded.reason == "meta"
    assert CHINESE in decoded.text


def test_unknown_charset_labels_are_ignored() -> None:
    body = page("x-nonsense", CHINESE).encode("utf-8")
    decoded = decode_page(body, "text/html; charset=utf-7")
    assert decoded.encoding == "utf-8"
    assert decoded.reason == "detected"
    assert CHINESE in decoded.text


def test_utf8_cut_in_the_middle_of_a_character_still_counts_as_utf8() -> None:
    body = page(None, CHINESE).encode("utf-8")
    cut = body[: body.index("全面".encode()) + 1]  # one byte into 全
    decoded = decode_page(cut, "text/html; charset=utf-8")
    assert decoded.reason == "http-header"
    assert decoded.encoding == "utf-8"


def test_bytes_no_codec_explains_fall_back_to_the_cleanest_reading() -> None:
    body = bytes(range(0x80, 0x100)) * 3
    decoded = decode_page(body)
    assert decoded.reason == "fallback"
    assert decoded.text.count("\ufffd") < body.decode("utf-8", errors="replace").count("\ufffd")


def test_meta_charset_far_down_the_page_is_not_read() -> None:
    body = ("<!--" + " " * 5000 + "-->" + page("gb2312", CHINESE)).encode("utf-8")
    assert decode_page(body).declared is None


@pytest.mark.parametrize(
    ("value", "charset"),
    [
        ("text/html; charset=UTF-8", "utf-8"),
        ('text/html; charset="gb2312"', "gb2312"),
        ("text/html;charset=GBK; foo=bar", "gbk"),
        ("text/html", None),
        ("", None),
        (None, None),
    ],
)
def test_charset_is_read_from_content_type(value: str | None, charset: str | None) -> None:
    assert charset_from_content_type(value) == charset


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("GB2312", "gb18030"),
        ("gbk", "gb18030"),
        ("x-gbk", "gb18030"),
        ("cp936", "gb18030"),
        ("GB18030", "gb18030"),
        ("Big5", "big5hkscs"),
        ("big5-hkscs", "big5hkscs"),
        ("cp950", "big5hkscs"),
        ("ISO-8859-1", "cp1252"),
        ("latin-1", "cp1252"),
        ("us-ascii", "cp1252"),
        ("UTF8", "utf-8"),
        ("utf-8", "utf-8"),
        ("Shift_JIS", "cp932"),
        ("koi8-r", "koi8-r"),
        ("utf-7", None),
        ("base64", None),
        ("x-nonsense", None),
        ("", None),
    ],
)
def test_charset_labels_are_normalised_as_browsers_do(label: str, codec: str | None) -> None:
    assert normalise_charset(label) == codec


# --- a few broken bytes must not turn a whole page into mojibake ------------------------------


def truncated_gbk_page(meta_charset: str | None) -> bytes:
    # Old CMSs cut list titles after N bytes and leave half a character before the next tag.
    body = page(meta_charset, CHINESE * 3).encode("gbk")
    return body.replace(b"</p>", "<a>新闻标".encode("gbk") + b"\xd0</a></p>")


@pytest.mark.parametrize(
    ("meta_charset", "content_type", "reason"),
    [
        ("gb2312", "text/html", "meta"),
        (None, "text/html", "detected"),
        (None, "text/html; charset=utf-8", "detected"),
        (None, "text/html; charset=iso-8859-1", "detected"),
    ],
)
def test_gbk_page_with_a_cut_character_still_decodes_as_gb18030(
    meta_charset: str | None, content_type: str, reason: str
) -> None:
    decoded = decode_page(truncated_gbk_page(meta_charset), content_type)
    assert decoded.encoding == "gb18030"
    assert decoded.reason == reason
    assert CHINESE in decoded.text
    assert decoded.text.count("\ufffd") == 1


def test_big5_page_with_a_broken_byte_is_still_big5() -> None:
    body = page(None, TRADITIONAL * 3).encode("big5hkscs").replace(b"</p>", b"\xa4</p>")
    decoded = decode_page(body, "text/html")
    assert decoded.encoding == "big5hkscs"
    assert TRADITIONAL in decoded.text


def test_utf8_page_with_one_corrupt_byte_is_still_utf8_despite_a_gb2312_meta() -> None:
    body = page("gb2312", CHINESE * 3).encode("utf-8")
    body = body.replace("。".encode(), b"\xe3", 1)  # one character cut to its first byte
    decoded = decode_page(body, "text/html")
    assert decoded.encoding == "utf-8"
    assert CHINESE[:20] in decoded.text


def test_gbk_page_behind_a_server_default_latin1_header_is_read_as_gbk() -> None:
    decoded = decode_page(page(None, CHINESE * 3).encode("gbk"), "text/html; charset=ISO-8859-1")
    assert decoded.encoding == "gb18030"
    assert decoded.declared == "iso-8859-1"
    assert CHINESE in decoded.text


def test_latin1_page_with_many_accents_keeps_its_declared_charset() -> None:
    text = "Élégant café à côté de l'hôtel, où déjeunèrent les élèves français. " * 20
    decoded = decode_page(page(None, text).encode("cp1252"), "text/html; charset=ISO-8859-1")
    assert decoded.encoding == "cp1252"
    assert text.strip() in decoded.text


def test_cyrillic_windows_1251_page_is_not_mistaken_for_gbk() -> None:
    text = "Городской совет утвердил строительство новой набережной вдоль реки. " * 20
    decoded = decode_page(page("windows-1251", text).encode("cp1251"), "text/html")
    assert decoded.encoding == "cp1251"
    assert text.strip() in decoded.text


# --- a GB page carrying bytes of another codec ---------------------------------------------------


def gb2312_cms_bytes(text: str) -> bytes:
    """What a GB2312-only CMS writes: GB2312 where it can, the UTF-8 bytes it was given elsewhere."""
    out = []
    for char in text:
        try:
            out.append(char.encode("gb2312"))
        except UnicodeEncodeError:
            out.append(char.encode("utf-8"))
    return b"".join(out)


def test_gb2312_page_with_utf8_bytes_reads_as_gb18030_not_utf8_mojibake() -> None:
    body = gb2312_cms_bytes((TEST_DATA / "pages" / "zh_gb2312_utf8_bytes.html").read_text(encoding="utf-8"))
    text = extract_article(body, "http://www.example.cn/school.html").text
    assert "\ufffd" not in text
    assert text == (TEST_DATA / "pages" / "zh_gb2312_utf8_bytes.txt").read_text(encoding="utf-8").strip()


def test_cp936_euro_byte_reads_as_the_euro_sign() -> None:
    body = '<meta charset="gb2312"><p>运价约为4500'.encode("gbk") + b"\x80" + "。</p>".encode("gbk")
    assert "4500€。" in decode_page(body).text


def test_replacement_characters_give_way_to_a_clean_reading() -> None:
    # A template saved with a UTF-8 byte-order mark in front of a GBK page.
    body = b"\xef\xbb\xbf" + "<p>青川市今年计划植树造林三万亩，市民可以通过网上预约参加义务植树活动。</p>".encode("gbk")
    decoded = decode_page(body)
    assert decoded.encoding == "gb18030"
    assert "植树造林" in decoded.text


def test_a_few_declared_gbk_characters_that_also_form_utf8_keep_their_declaration() -> None:
    # 諃 in GB18030 is the bytes D5 80, which are also UTF-8 for Հ: a title of one such
    # character in a feed declaring gb18030 came out Armenian. UTF-8 overrides a declared
    # codec only with enough non-ASCII text for the coincidence to be negligible.
    for title in ("諃", "諃諃", "讈諃"):
        body = f"<html><head><title>{title}</title></head><body><p>x</p></body></html>".encode("gb18030")
        assert body.decode("utf-8")  # valid UTF-8 too
        page = decode_page(body, "text/html; charset=gb18030")
        assert title in page.text, title
        assert page.encoding == "gb18030"


def test_a_page_resaved_as_utf8_under_an_old_gb2312_meta_still_reads_as_utf8() -> None:
    body = '<html><head><meta charset="gb2312"></head><body><p>南京为何没有六小龙</p></body></html>'.encode()
    page = decode_page(body, "text/html")
    assert page.encoding == "utf-8" and "南京为何没有六小龙" in page.text
