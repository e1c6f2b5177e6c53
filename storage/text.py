"""Text safe to store and to print: no control characters, no bidi overrides, no half characters.

Below the crawler, which strips what it stores, and what prints stored text: the command
line, the digest and the web console (rows stored before stripping began still hold them).
"""

from __future__ import annotations

import re

# C0 controls but tab, newline and carriage return; DEL; C1 controls (U+0080–U+009F); the bidi
# embeddings and overrides (U+202A–U+202E) and isolates (U+2066–U+2069); lone surrogates.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def strip_controls(text: str) -> str:
    """`text` without control characters: no page or feed means them, and an escape sequence in a
    stored headline reached the operator's terminal through `mediawatch articles`. Nor half a
    character (a lone surrogate, which a JSON Feed may escape as "\\ud800"): no database takes it.

    Nor a bidi embedding, override or isolate: one left open ("南京", U+202E, "六小龙") reverses the rest
    of its line wherever the headline is shown, past the headline into the outlet and the date
    beside it, and no markup can close it in a plain-text email or a terminal. The marks
    (U+200E, U+200F, U+061C) stay: they affect only the characters next to them, and right-to-
    left text uses them."""
    return _CONTROLS.sub("", text)
