"""Is this text garbled? Replacement marks, or Chinese bytes read as a Western codec (pure).

Mojibake of CJK text looks like runs of Latin-1/cp1252 letters ("ËÕÖÝÒ²ÔÚÎÊ" is GBK read
as Latin-1, "å—äº¬" is UTF-8 read as cp1252). Accented words in real French or
Portuguese ("Reações", "mäßige") make short runs that do not decode back to Chinese,
so a run only counts when it is long and re-encoding it gives Han characters.
"""

from __future__ import annotations

import re
import unicodedata

_HAN = re.compile("[\u4e00-\u9fff]")
# Non-ASCII characters that a Western single-byte codec produces (Latin-1 range plus cp1252's extras).
_WESTERN_RUN = re.compile("[\u0080-\u00ff\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u2026\u2030"
                          "\u2039\u203a\u20ac\u2122]{4,}")


def looks_garbled(text: str) -> bool:
    """True when `text` holds replacement marks, private-use or unassigned characters, or CJK mojibake."""
    if "\ufffd" in text or any(unicodedata.category(char) in ("Co", "Cn") for char in text):
        return True  # replacement marks, private-use or unassigned code points: bytes read with the wrong codec
    return any(_decodes_to_han(run) for run in _WESTERN_RUN.findall(text))


def _decodes_to_han(run: str) -> bool:
    for western in ("latin-1", "cp1252"):
        try:
            raw = run.encode(western)
        except UnicodeEncodeError:
            continue
        for codec in ("utf-8", "gb18030", "big5hkscs"):
            try:
                back = raw.decode(codec)
            except UnicodeDecodeError:
                continue
            if len(_HAN.findall(back)) >= 2:
                return True
    return False
