"""Text safe to store and to print: no control characters, no half characters.

Below the crawler, which strips what it stores, and the command line, which strips what it
prints (rows stored before stripping began still hold escape sequences).
"""

from __future__ import annotations

import re

# C0 controls but tab, newline and carriage return; DEL; C1 controls (U+0080–U+009F).
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def strip_controls(text: str) -> str:
    """`text` without control characters: no page or feed means them, and an escape sequence in a
    stored headline reached the operator's terminal through `mediawatch articles`. Nor half a
    character (a lone surrogate, which a JSON Feed may escape as "\\ud800"): no database takes it."""
    return _CONTROLS.sub("", text)
