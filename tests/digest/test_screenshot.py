"""The HTML digest, screenshotted in headless Chromium at phone (390 px) and desktop (1200 px) widths.

The screenshots in docs/ (`digest-desktop.png`, `digest-phone.png`, shown in the README)
are of the golden email `tests/data/digest/showcase.expected.html`; `digest-screenshots.json`
records that file's SHA-256, and a test fails when the golden HTML has changed since
(refresh with MEDIAWATCH_UPDATE_SCREENSHOT=1). The Chromium tests skip, with the reason,
when Debian's `chromium` is not installed (`.ci/run` installs it). PNGs are checked with
a small reader below (zlib only), so the tests need no imaging library.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import zlib
from datetime import timedelta
from pathlib import Path

import pytest

from digest.service import send_digest
from storage.ledger import DigestLedger
from tests.digest.support import START, TOPIC, FixedClock, digest_config, make_app, store

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = REPO_ROOT / "docs"
SHOWCASE = REPO_ROOT / "tests" / "data" / "digest" / "showcase.expected.html"
SCREENSHOTS_RECORD = DOCS / "digest-screenshots.json"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTHS = {"phone": 390, "desktop": 1200}
HEIGHT = 2000
DOCS_HEIGHTS = {"phone": 2150, "desktop": 1770}  # the whole showcase email at each width
PAGE_BACKGROUND = bytes.fromhex("f1f5f9")  # body background in digest.html.j2
ROWS_CHECKED = 900  # decoding every row in pure Python is slow; the top holds the report, headline and entries

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")


def read_png(path: Path, max_rows: int) -> tuple[int, int, list[bytes]]:
    """Width, height and the first `max_rows` unfiltered RGB(A) rows of an 8-bit PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, idat, header = 8, bytearray(), None
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        chunk = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        position += 12 + length
    assert header is not None
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    channels = 3 if colour == 2 else 4
    stride = width * channels
    raw = zlib.decompressobj().decompress(bytes(idat), (stride + 1) * max_rows)
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(min(max_rows, height, len(raw) // (stride + 1))):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + ((left + up) >> 1)) & 0xFF
            elif kind == 4:
                up_left = previous[x - channels] if x >= channels else 0
                estimate = left + up - up_left
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - up_left)
                predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else up_left)
                line[x] = (line[x] + predictor) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def colours(rows: list[bytes], channels: int = 4) -> set[bytes]:
    return {row[x : x + 3] for row in rows for x in range(0, len(row), channels)}


def screenshot(html: Path, png: Path, width: int, profile: Path, height: int = HEIGHT) -> None:
    assert CHROMIUM is not None
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
        f"--user-data-dir={profile}", f"--screenshot={png}", f"--window-size={width},{height}", html.as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0 and png.is_file(), result.stderr[-2000:]


EARLIER = [  # (days before START, outlet, title): coverage an earlier digest already sent
    (5, "jiangnan", "交汇点：南京为什么没有“六小龙”？"),
    (5, "donghai", "东海观察：杭州六小龙背后的营商环境"),
    (4, "jiangnan", "三问南京之二：人才去哪儿了"),
    (4, "haixi", "六小龍現象：杭州做對了什麼"),
    (4, "donghai", "评论：别急着给城市排座次"),
    (3, "jiangnan", "三问南京之三：国资与创投"),
    (2, "haixi-en", "Hangzhou's six little dragons and the cities chasing them"),
    (1, "donghai", "南京回应：正在培育自己的“六小龙”"),
]


@pytest.fixture
def archived_digest(database_url: str, tmp_path: Path) -> Path:
    """A realistic second digest (three scripts, a syndicated copy, a failing source) archived as HTML."""
    clock = FixedClock(START - timedelta(days=1))
    app = make_app(digest_config(database_url, tmp_path, recipients=()), clock)
    try:
        repository = app.repository
        for days, source, title in EARLIER:
            store(repository, title, source=source, published=START - timedelta(days=days, hours=-3),
                  matched=("six little dragons",) if source == "haixi-en" else ("六小龙",))
        send_digest(app.digest_context(), TOPIC)
        clock.advance(days=1)
        store(repository, "江苏官媒三问南京：为什么发展不出“杭州六小龙”？", source="jiangnan", score=1.0,
              text="交汇点连发三篇文章，追问南京为什么没有培育出像DeepSeek、宇树科技这样的“六小龙”企业。",
              matched=("六小龙", "DeepSeek"), content_hash="syndicated")
        store(repository, "江苏官媒三问南京：为什么发展不出“杭州六小龙”？", source="donghai", score=1.0,
              matched=("六小龙", "DeepSeek"), content_hash="syndicated", url="https://donghai.example/reprint.html")
        store(repository, "南京為什麼沒有六小龍？海峽兩岸看城市競爭", source="haixi", language="zh-Hant",
              text="台灣媒體關注南京與杭州的城市競爭，認為六小龍的出現並非偶然，而是長期營商環境的結果。")
        store(repository, "Why can't Nanjing grow its own six little dragons?", source="haixi-en", language="en",
              matched=("six little dragons", "DeepSeek"),
              text="Hangzhou's six little dragons, DeepSeek among them, have become the benchmark other Chinese "
                   "cities are measured against, and Nanjing's officials are feeling the pressure to answer.")
        repository.sync_sources([(s.name, s.kind, s.url) for s in app.config.sources])
        run = repository.start_run("donghai", "scheduled")
        repository.finish_run(run, status="failed", found=0, new=0, duplicate=0, failed=0, http_status=503,
                              error="HTTP 503 Service Unavailable")
        outcome = send_digest(app.digest_context(), TOPIC)
        assert DigestLedger(app.engine).get(outcome.digest_id or 0) is not None
    finally:
        app.close()
    assert outcome.article_count == 4 and outcome.archive_html is not None
    return outcome.archive_html


@needs_chromium
@pytest.mark.parametrize("device", sorted(WIDTHS))
def test_the_html_digest_renders_non_blank_in_headless_chromium(archived_digest: Path, tmp_path: Path, device: str) -> None:
    png = tmp_path / f"digest-{device}.png"

    screenshot(archived_digest, png, WIDTHS[device], tmp_path / f"profile-{device}")

    width, height, rows = read_png(png, ROWS_CHECKED)
    assert (width, height) == (WIDTHS[device], HEIGHT)
    channels = len(rows[0]) // width
    seen = colours(rows, channels)
    assert len(seen) > 50, f"only {len(seen)} colours: the page looks blank"
    assert b"\x25\x63\xeb" in seen or len(seen) > 200  # the chart's bar blue, or plenty of anti-aliased text
    # The page background must show at both edges: the 640 px column fits the window, nothing overflows.
    for x in (2, width - 3):
        pixel = rows[300][x * channels : x * channels + 3]
        assert all(abs(a - b) <= 4 for a, b in zip(pixel, PAGE_BACKGROUND, strict=True)), (device, x, pixel.hex())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@needs_chromium
@pytest.mark.parametrize("device", sorted(WIDTHS))
def test_the_showcase_email_renders_at_its_width_and_refreshes_the_docs_screenshots(tmp_path: Path, device: str) -> None:
    png = tmp_path / f"digest-{device}.png"

    screenshot(SHOWCASE, png, WIDTHS[device], tmp_path / f"profile-{device}", DOCS_HEIGHTS[device])

    width, height, rows = read_png(png, 400)
    assert (width, height) == (WIDTHS[device], DOCS_HEIGHTS[device])
    assert len(colours(rows, len(rows[0]) // width)) > 50
    if os.environ.get("MEDIAWATCH_UPDATE_SCREENSHOT"):
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(png, DOCS / f"digest-{device}.png")
        record = json.loads(SCREENSHOTS_RECORD.read_text()) if SCREENSHOTS_RECORD.is_file() else {}
        record.update({"source": str(SHOWCASE.relative_to(REPO_ROOT)), "sha256": sha256(SHOWCASE),
                       f"{device}_width": WIDTHS[device]})
        SCREENSHOTS_RECORD.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def test_the_screenshots_in_docs_are_of_the_current_golden_email() -> None:
    record = json.loads(SCREENSHOTS_RECORD.read_text())

    assert record["sha256"] == sha256(SHOWCASE), (
        "the golden email changed since the screenshots were taken: "
        "MEDIAWATCH_UPDATE_SCREENSHOT=1 .venv/bin/python -m pytest tests/digest/test_screenshot.py"
    )
    for device, width in WIDTHS.items():
        png_width, _, _ = read_png(DOCS / f"digest-{device}.png", 1)
        assert png_width == width == record[f"{device}_width"]


def test_the_png_reader_decodes_a_known_image(tmp_path: Path) -> None:
    """Two rows of two pixels: an unfiltered row, then a Paeth-filtered one."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row0 = bytes([0, 10, 20, 30, 40, 50, 60])  # filter 0 (none)
    row1 = bytes([4, 1, 1, 1, 1, 1, 1])  # filter 4 (Paeth) adds to the pixel above
    png = tmp_path / "tiny.png"
    png.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row0 + row1)) + chunk(b"IEND", b"")
    )

    width, height, rows = read_png(png, 10)

    assert (width, height) == (2, 2)
    assert rows == [bytes([10, 20, 30, 40, 50, 60]), bytes([11, 21, 31, 41, 51, 61])]
