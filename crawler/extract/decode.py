"""Turn a fetched page's bytes into text, choosing the codec the way a careful browser would.

Candidates are tried in order: byte-order mark, HTTP ``Content-Type`` charset,
``<meta>`` charset in the first few KB, statistical detection
(charset-normalizer), and finally the cleanest of every candidate (the one
with the fewest replacement and control characters). A
*declared* charset is only believed once the bytes agree with it: Chinese
sites often send ``charset=utf-8`` for GBK pages, or keep a ``gb2312`` meta on
pages that were re-saved as UTF-8, and a wrong guess gives mojibake silently.
"Agree" tolerates a few broken bytes (CMSs cut titles in the middle of a GBK
character), and a single-byte declaration such as a server's default
ISO-8859-1 is checked against GBK/Big5 readings, since any bytes decode as
Latin-1. Whatever path chose the codec, a text holding U+FFFD is compared
with the other multi-byte readings, and a clean one wins: a GB2312 page
whose CMS wrote one rare name character (镕) as UTF-8 bytes must not come out
as UTF-8 mojibake.

Everything here is pure: bytes in, :class:`storage.types.DecodedPage` out.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import re
from typing import Any

from charset_normalizer import from_bytes

from storage.types import DecodedPage

logger = logging.getLogger(__name__)

# Browsers look for <meta charset> in the first 1024 bytes; Chinese CMS pages
# often put a long comment or script first, so look a little further.
META_SCAN_BYTES = 4096

# Longest BOM first: the UTF-32-LE mark starts with the UTF-16-LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Superset codecs that browsers use for these labels (WHATWG Encoding
# Standard); decoding GBK text as gb2312 or cp950 text as big5 loses characters.
_LABEL_ALIASES: dict[str, str] = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "windows-936": "gb18030",
    "csgb2312": "gb18030",
    "chinese": "gb18030",
    "euc-cn": "gb18030",
    "gb_2312-80": "gb18030",
    "iso-ir-58": "gb18030",
    "gb18030": "gb18030",
    "big5": "big5hkscs",
    "big5-hkscs": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "csbig5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "cp950": "big5hkscs",
    "ms950": "big5hkscs",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "windows-1252": "cp1252",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
}

# The same mapping keyed by Python codec name, for labels that reach us
# through codecs.lookup() aliases (e.g. "GB_2312", "big5_tw") or from the detector.
_CODEC_ALIASES: dict[str, str] = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "big5hkscs",
    "cp950": "big5hkscs",
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
    "euc_kr": "cp949",
    "shift_jis": "cp932",
}

# Codecs that Python knows but no web page means: utf-7 is a known XSS vector
# and the others are not character encodings of documents at all.
_REFUSED_CODECS = frozenset({"utf-7", "idna", "punycode", "raw-unicode-escape", "unicode-escape"})

# Codecs that decode any byte sequence, so that a wrong one is never caught by errors.
_SINGLE_BYTE = frozenset({"cp1252", "iso8859-15", "cp1251", "koi8-r", "iso8859-2", "cp1250", "mac-roman"})
_CJK_CODECS = ("gb18030", "big5hkscs", "cp932", "cp949")
# The readings compared when a decoding holds replacement characters: the
# multi-byte codecs of Chinese pages. Single-byte ones never produce U+FFFD,
# so they would always look "clean" and cannot take part.
_RESCUE_CODECS = ("utf-8", "gb18030", "big5hkscs")
_HIGH_BYTES = bytes(range(0x80, 0x100))
_HAN = re.compile("[\u4e00-\u9fff]")
# The most frequent Chinese characters (simplified, plus the traditional forms
# that differ), which make up well over half of any Chinese text.
_COMMON_HAN = frozenset(
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面"
    "而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好"
    "应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道"
    "命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员位入常文总次品式活设及管特件长求"
    "老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光"
    "门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速"
    "花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需"
    "段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感"
    "劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂"
    "京识适属圆包火住调满县局照参红细引听该铁价严龙飞們個來說時會對後國這為麼還過學發經間動於現實體東當關應開"
    "從業點與種門題樣兩區長對話電華報"
)

_CONTENT_TYPE_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([^"';,\s]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9_:.+-]+)""", re.IGNORECASE)

# Characters that a right codec practically never produces in a web page:
# replacement marks, C0/C1 controls (other than whitespace) and, for the CJK
# codecs, private-use code points that unassigned byte pairs decode to.
_SUSPICIOUS = re.compile("[\ufffd\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ue000-\uf8ff]")


def charset_from_content_type(value: str | None) -> str | None:
    """Return the raw ``charset`` parameter of a Content-Type header value, lower-cased."""
    if not value:
        return None
    match = _CONTENT_TYPE_CHARSET.search(value)
    return match.group(1).strip().lower() if match else None


def normalise_charset(label: str) -> str | None:
    """Map a charset label to the Python codec a browser would use, or None if unknown.

    >>> normalise_charset("GB2312"), normalise_charset("Big5"), normalise_charset("ISO-8859-1")
    ('gb18030', 'big5hkscs', 'cp1252')
    """
    key = label.strip().strip("\"'").lower()
    if not key:
        return None
    if key in _LABEL_ALIASES:
        return _LABEL_ALIASES[key]
    try:
        info = codecs.lookup(key)
    except LookupError:
        return None
    # codecs.lookup also knows bytes-to-bytes transforms such as "base64".
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED_CODECS:
        return None
    if info.name in ("utf-8", "utf-8-sig"):
        return "utf-8"
    return _CODEC_ALIASES.get(info.name, info.name)


def decode_page(body: bytes, content_type: str | None = None, *, document_charset: str | None = None) -> DecodedPage:
    """Decode an HTML page, trying BOM, header, meta, detection and UTF-8 in that order.

    `document_charset` is what the document itself declares when that is not a `<meta>`
    (a feed's XML declaration): it stands where the meta would, after the header.
    """
    page = _decode_page(body, content_type, document_charset)
    if page.encoding == "gb18030" and _SUSPICIOUS.search(page.text):
        page = _with_utf8_runs(body, page)
    if "\ufffd" not in page.text:
        return page
    cleaner = _cleaner_reading(body, page)
    if cleaner is not None:
        logger.debug("%s reading holds U+FFFD, %s reads cleanly", page.encoding, cleaner.encoding)
        return cleaner
    return page


# Control characters (C0 but tab, newline, carriage return; DEL; C1) in decoded text. Real
# pages hold almost none (at most 0.012% over the benchmark corpora and real feeds); an image,
# an archive or compressed bytes decode, as GB18030 or anything else, to 12-17% of them. A
# hostile page may hold as many (escape sequences in a short page), but it has markup.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BINARY_SHARE = 0.02
_MARKUP = re.compile(r"<(?:html|head|body|title|meta|article|div|p|h[1-6]|span|a)\b", re.I)


def looks_binary(text: str) -> bool:
    """True when decoded `text` is binary data: over 2% control characters and no HTML markup."""
    if not text or len(_CONTROL.findall(text)) <= _BINARY_SHARE * len(text):
        return False
    return len(_MARKUP.findall(text, 0, 65536)) < 3


def _with_utf8_runs(body: bytes, page: DecodedPage) -> DecodedPage:
    """The GB page re-read with UTF-8 sequences allowed where GB18030 gives garbage, if that is cleaner.

    GB2312-only CMSs paste what GB2312 lacks (a rare name character such as
    镕, a footer from a UTF-8 template) as UTF-8 bytes; read as GB18030 those
    bytes shift every following pair until the next ASCII byte.
    """
    text = _read_gb_with_utf8_where_needed(body)
    if len(_SUSPICIOUS.findall(text)) < len(_SUSPICIOUS.findall(page.text)):
        logger.debug("GB page holds UTF-8 byte runs: read both")
        return DecodedPage(text, page.encoding, page.declared, "mixed")
    return page


# Costs for _read_gb_with_utf8: an everyday GB character is free, a rare one
# costs a little (shifted pairs decode to a random draw of rare characters), a
# UTF-8 character a little more (so GB wins ties) and a byte neither reads a lot.
_COST_RARE_GB = 0.5
_COST_UTF8 = 1.0
_COST_BAD = 10.0


def _read_gb_with_utf8_where_needed(body: bytes) -> str:
    """GB18030 everywhere but in the stretches between tags that it cannot read cleanly.

    "<" is never part of a GB or UTF-8 multi-byte character, so the page can be
    cut there and each piece read on its own; the costly split runs only where
    the plain reading fails (a 100 KB page with one cut character stays fast).
    """
    pieces = []
    for piece in body.split(b"<"):
        text = _decode(piece, "gb18030")
        if _SUSPICIOUS.search(text):
            mixed = _read_gb_with_utf8(piece)
            if len(_SUSPICIOUS.findall(mixed)) < len(_SUSPICIOUS.findall(text)):
                text = mixed
        pieces.append(text)
    return "<".join(pieces)


def _read_gb_with_utf8(body: bytes) -> str:
    """Cheapest split of ``body`` into ASCII, GB18030 and UTF-8 characters (dynamic programming)."""
    size = len(body)
    cost = [float("inf")] * (size + 1)
    step: list[tuple[int, str]] = [(0, "")] * (size + 1)
    cost[0] = 0.0
    pair_cost: dict[bytes, tuple[float, str]] = {}
    for i in range(size):
        here = cost[i]
        byte = body[i]
        options: list[tuple[int, float, str]] = []
        if byte < 0x80:
            options.append((1, 0.0, chr(byte)))
        else:
            for length in (2, 4):
                chunk = body[i : i + length]
                if len(chunk) < length:
                    continue
                if chunk not in pair_cost:
                    char = chunk.decode("gb18030", errors="replace")
                    if len(char) != 1 or _SUSPICIOUS.match(char):
                        pair_cost[chunk] = (_COST_BAD * 2, "")
                    elif _HAN.match(char) and char not in _COMMON_HAN:
                        pair_cost[chunk] = (_COST_RARE_GB, char)
                    else:
                        pair_cost[chunk] = (0.0, char)
                weight, char = pair_cost[chunk]
                if char:
                    options.append((length, weight, char))
            utf8_length = 2 if 0xC2 <= byte <= 0xDF else 3 if 0xE0 <= byte <= 0xEF else 4 if 0xF0 <= byte <= 0xF4 else 0
            if utf8_length and i + utf8_length <= size:
                with contextlib.suppress(UnicodeDecodeError):
                    options.append((utf8_length, _COST_UTF8, body[i : i + utf8_length].decode("utf-8")))
            options.append((1, _COST_BAD, "\u20ac" if byte == 0x80 else "\ufffd"))
        for length, weight, char in options:
            if here + weight < cost[i + length]:
                cost[i + length] = here + weight
                step[i + length] = (i, char)
    chars = []
    position = size
    while position > 0:
        position, char = step[position]
        chars.append(char)
    return "".join(reversed(chars))


def _decode_page(body: bytes, content_type: str | None, document_charset: str | None = None) -> DecodedPage:
    for bom, codec in _BOMS:
        if body.startswith(bom):
            # A BOM is authoritative for browsers, whatever the header says.
            text = _decode(body[len(bom) :], codec)
            return DecodedPage(text, codec, _first_declared(body, content_type), "bom")

    header_label = charset_from_content_type(content_type)
    meta_label = document_charset or _meta_charset_label(body)
    header_codec = normalise_charset(header_label) if header_label else None
    meta_codec = _meta_codec(meta_label)
    declared_default = header_label or meta_label

    candidates: list[tuple[str, str | None, str]] = []
    if header_codec:
        candidates.append(("http-header", header_label, header_codec))
    if meta_codec:
        candidates.append(("meta", meta_label, meta_codec))
    # "ISO-8859-1" in a header is usually a web server's default rather than a
    # statement about the page, and cp1252 decodes almost any bytes without
    # error, so let the page's own <meta> speak first in that case.
    if header_codec == "cp1252" and meta_codec and meta_codec != "cp1252":
        candidates.reverse()

    utf8 = _mostly_utf8(body)
    scarred: DecodedPage | None = None  # a declaration the bytes fit only with a few U+FFFD
    for reason, label, codec in candidates:
        if codec != "utf-8" and utf8 is not None and _utf8_despite(body, codec, utf8):
            # Multibyte GBK/Big5 text or Latin-1 accents that happen to form
            # valid UTF-8 are vanishingly rare, while pages re-saved as UTF-8
            # that keep their old gb2312 meta are common: the bytes win.
            logger.debug("declared %s (%s) but body is UTF-8", label, reason)
            return DecodedPage(utf8, "utf-8", label, "detected")
        if codec in _SINGLE_BYTE and (cjk := _cjk_instead(body)) is not None:
            # Any bytes decode as Latin-1 or KOI8-R; GBK and Big5 pages served
            # with a server-default single-byte charset need a second look.
            logger.debug("declared %s (%s) but body reads as %s", label, reason, cjk[1])
            return DecodedPage(cjk[0], cjk[1], label, "detected")
        verified = _verified_decode(body, codec)
        if verified is not None and "\ufffd" not in verified:
            return DecodedPage(verified, codec, label, reason)
        if verified is not None:
            # Believed unless the page's own declaration reads the bytes cleanly: a server's
            # default "charset=utf-8" over a Latin-1 feed with four accents fit "within tolerance",
            # and the letters were dropped ("Portrt fr") or taken for GB18030 ("Portr鋞 f黵").
            scarred = scarred or DecodedPage(verified, codec, label, reason)
            continue
        if codec == "gb18030":
            # On a short GB2312 page one pasted UTF-8 name is past the tolerance.
            mixed = _read_gb_with_utf8_where_needed(body)
            if len(_SUSPICIOUS.findall(mixed)) <= _tolerance(mixed):
                return DecodedPage(mixed, codec, label, "mixed")
        logger.debug("declared charset %s (%s) does not fit the bytes", label, reason)
    if scarred is not None:
        return scarred

    if utf8 is not None or body.isascii():
        return DecodedPage(utf8 or _decode(body, "utf-8"), "utf-8", declared_default, "detected")
    detected = _detect(body)
    if detected not in (*_CJK_CODECS, "utf-8") and any(codec in _CJK_CODECS for _, _, codec in candidates):
        # A guess of a single-byte codec (they read any bytes) does not beat the page's own CJK label.
        detected = None
    if detected is not None:
        verified = _verified_decode(body, detected)
        if verified is not None:
            return DecodedPage(verified, detected, declared_default, "detected")
        logger.debug("detected charset %s does not fit the bytes", detected)

    # Nothing fits within tolerance (a short page with a few foreign bytes):
    # the reading with the fewest bad characters, declared codecs first on ties.
    tried = [codec for _, _, codec in candidates] + ([detected] if detected else []) + list(_RESCUE_CODECS)
    text, codec = min(
        ((_decode(body, codec), codec) for codec in dict.fromkeys(tried)),
        key=lambda reading: len(_SUSPICIOUS.findall(reading[0])),
    )
    return DecodedPage(text, codec, declared_default, "fallback")


# Non-ASCII characters a UTF-8 reading needs before it overrides a declared codec that reads
# the bytes cleanly: a GBK character is valid UTF-8 by chance about one time in ten.
_UTF8_EVIDENCE = 4
_ENOUGH_NON_ASCII = re.compile(r"[^\x00-\x7f](?:[\x00-\x7f]*[^\x00-\x7f]){" + str(_UTF8_EVIDENCE - 1) + "}")


def _utf8_despite(body: bytes, codec: str, utf8: str) -> bool:
    """Whether a body that reads as UTF-8 is UTF-8 although it declares ``codec``.

    Pages re-saved as UTF-8 under their old gb2312 meta are common, so valid UTF-8 wins;
    but a few characters can be valid both ways (諃 in GB18030 is D5 80, UTF-8 for Հ):
    with less than ``_UTF8_EVIDENCE`` of them, the declaration stands if it reads them cleanly.
    """
    if _ENOUGH_NON_ASCII.search(utf8):  # stops at the fourth, where counting read the whole page
        return True
    try:
        declared = _decode(body, codec)
    except LookupError:
        return True
    return _SUSPICIOUS.search(declared) is not None


def _cleaner_reading(body: bytes, page: DecodedPage) -> DecodedPage | None:
    """Another multi-byte reading of ``body`` without a single suspicious character, if there is one."""
    if page.reason == "bom":
        body = body[len(next(bom for bom, codec in _BOMS if codec == page.encoding)) :]
    for codec in _RESCUE_CODECS:
        if codec == page.encoding:
            continue
        text = _decode(body, codec)
        # Clean is not enough: GBK bytes can happen to form valid Big5 pairs, as
        # a random draw of rare characters; a right reading is as everyday.
        if not _SUSPICIOUS.search(text) and _as_everyday(text, page.text):
            return DecodedPage(text, codec, page.declared, "detected")
    return None


def _as_everyday(text: str, than: str) -> bool:
    """``text`` reads as everyday Chinese at least nearly as well as ``than`` (or has too few Han to tell)."""
    share, other = _common_share(text), _common_share(than)
    if share is None:
        return True
    return share >= (_MIN_COMMON_SHARE if other is None else 0.8 * other)


# Text decoded with the wrong double-byte codec is a random draw from
# thousands of characters, of which the common ones are a small share.
_MIN_COMMON_SHARE = 0.3


def _common_share(text: str) -> float | None:
    """The share of everyday characters among the Han characters of ``text``; None with too few to tell."""
    han = _HAN.findall(text)
    if len(han) < 20:
        return None
    return sum(char in _COMMON_HAN for char in han) / len(han)


def _first_declared(body: bytes, content_type: str | None) -> str | None:
    return charset_from_content_type(content_type) or _meta_charset_label(body)


def _meta_charset_label(body: bytes) -> str | None:
    """Return the first ``<meta>`` charset label in the head of the page that names a known codec."""
    first_label = None
    for match in _META_CHARSET.finditer(body[:META_SCAN_BYTES]):
        label = match.group(1).decode("ascii", errors="replace").lower()
        first_label = first_label or label
        if _meta_codec(label):
            return label
    # An unknown label is still worth reporting as what the page claimed.
    return first_label


def _meta_codec(label: str | None) -> str | None:
    if not label:
        return None
    codec = normalise_charset(label)
    # A meta tag was read as ASCII, so the page cannot really be UTF-16/32;
    # browsers treat such a declaration as UTF-8 (WHATWG "prescan" rule).
    if codec and codec.startswith(("utf-16", "utf-32")):
        return "utf-8"
    return codec


def _tolerance(text: str) -> int:
    """How many undecodable or implausible characters a right codec may still produce.

    Old CMSs cut titles after N bytes, leaving half a GBK character before
    the next tag, and a page may carry one corrupt byte; rejecting the whole
    page for that would turn every character into mojibake.
    """
    return max(4, len(text) // 200)


def _mostly_utf8(body: bytes) -> str | None:
    """The body decoded as UTF-8 if it is non-ASCII and UTF-8 but for a few broken bytes, else None."""
    if body.isascii():
        return None
    text = _decode(body, "utf-8")
    # GBK, Big5 or Latin-1 bytes read as UTF-8 break on nearly every non-ASCII
    # character; a UTF-8 page with a corrupt byte has one bad one among many.
    broken = text.count("\ufffd")
    if broken and broken > sum(1 for char in text if char >= "\x80") // 50:
        return None
    return text


def _verified_decode(body: bytes, codec: str) -> str | None:
    """Return the text if ``codec`` decodes ``body`` with at most a few bad characters, else None."""
    try:
        text = _decode(body, codec)
    except LookupError:
        return None
    if len(_SUSPICIOUS.findall(text)) > _tolerance(text):
        return None
    return text


def _decode(body: bytes, codec: str) -> str:
    return body.decode(codec, errors=_GB_ERRORS if codec == "gb18030" else "replace")


def _euro_or_replace(error: UnicodeError) -> tuple[str, int]:
    """Decode-error handler: cp936's byte 0x80 is the euro sign (WHATWG gb18030 decoder), the rest U+FFFD.

    Python's gb18030 codec rejects the lone byte 0x80 that Windows (cp936)
    writes for "€"; browsers read it as the euro sign.
    """
    if not isinstance(error, UnicodeDecodeError):
        raise error
    if error.object[error.start : error.start + 1] == b"\x80":
        return "\u20ac", error.start + 1
    return "\ufffd", error.end


_GB_ERRORS = "mediawatch-gb18030"
codecs.register_error(_GB_ERRORS, _euro_or_replace)


def _cjk_instead(body: bytes) -> tuple[str, str] | None:
    """(text, codec) when bytes declared as a single-byte charset are plainly GBK or Big5 instead."""
    high = len(body) - len(body.translate(None, _HIGH_BYTES))
    if high < 200 or high * 20 < len(body):
        return None  # a few accented letters: nothing to second-guess
    detected = _detect(body)
    if detected not in _CJK_CODECS:
        return None
    text = _verified_decode(body, detected)
    return (text, detected) if text is not None else None


# How close two of charset-normalizer's guesses must be (its "chaos" and "coherence"
# scores) to count as a tie it broke arbitrarily.
_TIE_CHAOS = 0.005
_TIE_COHERENCE = 0.02


def _detect(body: bytes) -> str | None:
    """Guess the codec from the bytes themselves."""
    matches = from_bytes(body)
    best = matches.best()
    if best is not None:
        if _ties_with_windows_1252(matches, best):
            return "cp1252"
        return normalise_charset(best.encoding)
    # charset-normalizer gives up on a single undecodable byte; try the
    # CJK codecs tolerantly and keep the one that reads as common characters.
    return _likeliest_cjk(body)


def _ties_with_windows_1252(matches: Any, best: Any) -> bool:
    """Whether windows-1252 reads the bytes as well as the detector's single-byte guess.

    Western European text without a declaration fits cp1250, cp1257, cp1258 and
    cp1252 equally well (the accented letters they share sit at the same bytes), and
    charset-normalizer picks one of the tied guesses arbitrarily: "Simulações" came
    out as "Simulaçőes" or "Simulaēões". On a tie the web's usual single-byte
    charset wins (the WHATWG default for most locales); a guess the bytes really
    support, such as cp1250 for Polish "Łódź", is not a tie.
    """
    if normalise_charset(best.encoding) in (*_CJK_CODECS, "utf-8", "cp1252", None):
        return False
    if "cp1252" in best.could_be_from_charset:
        return True  # the same text under another name
    # A guess whose language is English was judged on its ASCII letters: its accented ones
    # counted for nothing, so its higher coherence says nothing about them (a Brazilian feed
    # came out cp1257, "English", 0.77, over cp1252, "Portuguese", 0.64: "simulaēões de 2ŗ turno").
    unjudged = best.language == "English"
    return any(
        "cp1252" in match.could_be_from_charset
        and match.chaos <= best.chaos + _TIE_CHAOS
        and (unjudged or match.coherence >= best.coherence - _TIE_COHERENCE)
        for match in matches
    )


def _likeliest_cjk(body: bytes) -> str | None:
    """The CJK codec under which the page's Han characters are most often everyday ones."""
    best, best_share = None, 0.0
    for codec in _CJK_CODECS:
        text = _verified_decode(body, codec)
        if text is None:
            continue
        share = _common_share(text)
        if share is not None and share > best_share:
            best, best_share = codec, share
    return best if best_share >= _MIN_COMMON_SHARE else None
