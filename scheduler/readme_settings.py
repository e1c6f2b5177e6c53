"""Refresh the settings table in README.md from the code: `python -m scheduler.readme_settings`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
MARKERS = re.compile(r"(<!-- settings-table:start -->\n).*?(\n<!-- settings-table:end -->)", re.S)


def main() -> None:
    table = subprocess.run(
        [sys.executable, "-m", "scheduler", "config", "settings", "--markdown"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    text = README.read_text(encoding="utf-8")
    README.write_text(MARKERS.sub(lambda m: m.group(1) + table + m.group(2), text), encoding="utf-8")


if __name__ == "__main__":
    main()
