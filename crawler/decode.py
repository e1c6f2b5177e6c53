"""Turn a fetched page's bytes into text, choosing the codec the way a careful browser would.

Candidates are tried in order: byte-order mark, HTTP ``Content-Type`` charset,
``<meta>`` charset in the first few KB, statistical detection
(charset-normalizer), and finally UTF-8 with replacement characters. A
*declared* charset is only believed once the bytes agree with it: Chinese
sites often send ``charset=utf-8`` for GBK pages, or keep a ``gb2312`` meta on
pages that were re-saved as UTF-8, and a wrong guess gives mojibake silently.

Everything here is pure: bytes in, :class:`storage.types.DecodedPage` out.
"""

from __future__ import annotations

import codecs
import logging
import re

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


def decode_page(body: bytes, content_type: str | None = None) -> DecodedPage:
    """Decode an HTML page, trying BOM, header, meta, detection and UTF-8 in that order."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            # A BOM is authoritative for browsers, whatever the header says.
            text = body[len(bom) :].decode(codec, errors="replace")
            return DecodedPage(text, codec, _first_declared(body, content_type), "bom")

    header_label = charset_from_content_type(content_type)
    meta_label = _meta_charset_label(body)
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

    valid_utf8 = _is_valid_utf8(body)
    for reason, label, codec in candidates:
        if codec != "utf-8" and valid_utf8 and not body.isascii():
            # Multibyte GBK/Big5 text or Latin-1 accents that happen to form
            # valid UTF-8 are vanishingly rare, while pages re-saved as UTF-8
            # that keep their old gb2312 meta are common: the bytes win.
            logger.debug("declared %s (%s) but body is valid UTF-8", label, reason)
            return DecodedPage(_decode(body, "utf-8"), "utf-8", label, "detected")
        text = _verified_decode(body, codec)
        if text is not None:
            return DecodedPage(text, codec, label, reason)
        logger.debug("declared charset %s (%s) does not fit the bytes", label, reason)

    detected = _detect(body, valid_utf8)
    if detected is not None:
        text = _verified_decode(body, detected)
        if text is not None:
            return DecodedPage(text, detected, declared_default, "detected")
        logger.debug("detected charset %s does not fit the bytes", detected)

    return DecodedPage(_decode(body, "utf-8"), "utf-8", declared_default, "fallback")


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


def _is_valid_utf8(body: bytes) -> bool:
    return _strict_prefix_decode(body, "utf-8") is not None


def _strict_prefix_decode(body: bytes, codec: str) -> str | None:
    """Strictly decode, tolerating only a truncated character at the very end.

    Fetchers cap the body size, so the last character of a perfectly good page
    may be cut in half; that must not disqualify the codec.
    """
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    try:
        return decoder.decode(body, final=False)
    except (UnicodeDecodeError, LookupError):
        return None


def _verified_decode(body: bytes, codec: str) -> str | None:
    """Return the text if ``codec`` decodes ``body`` cleanly and plausibly, else None."""
    if _strict_prefix_decode(body, codec) is None:
        return None
    text = _decode(body, codec)
    suspicious = len(_SUSPICIOUS.findall(text))
    if suspicious > max(4, len(text) // 200):
        return None
    return text


def _decode(body: bytes, codec: str) -> str:
    return body.decode(codec, errors="replace")


def _detect(body: bytes, valid_utf8: bool) -> str | None:
    """Guess the codec from the bytes themselves."""
    if valid_utf8:
        # Valid UTF-8 with any non-ASCII byte is UTF-8 for all practical
        # purposes, and pure ASCII decodes the same in every candidate.
        return "utf-8"
    best = from_bytes(body).best()
    if best is None:
        return None
    return normalise_charset(best.encoding)
