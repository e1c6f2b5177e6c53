"""Charts drawn on the server as SVG: coverage per day, per outlet, and how a storyline spread.

Pure functions: counts in, an SVG string out. Every label passes through
`markupsafe.escape` (outlet names come from configuration, but titles come from the
web), so a chart is as inert as the rest of the page. No JavaScript, no chart library.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

BAR = "#2563eb"
MUTED = "#64748b"


def coverage_per_day(moments: Sequence[datetime], tz: ZoneInfo, *, days: int = 30, today: date) -> list[tuple[date, int]]:
    """Articles per local day for the `days` days up to `today` (empty days included)."""
    counts = Counter(m.astimezone(tz).date() for m in moments)
    start = today - timedelta(days=days - 1)
    return [(start + timedelta(days=i), counts.get(start + timedelta(days=i), 0)) for i in range(days)]


# A day label ("12-03", font-size 10) is about 28 units wide; labels are kept this far apart,
# centre to centre, so neighbours never touch, and this far from the edges, so none is cut off.
DAY_LABEL_WIDTH = 30
DAY_LABEL_GAP = 6


def day_label_positions(count: int, *, left: float, step: float, width: float) -> list[tuple[int, float]]:
    """Which of `count` bars get a date label, and the label's centre: every k-th bar counted back
    from the newest (always labelled), k as small as the bars' width allows.

    Labelling every seventh day overlapped at the right edge (the newest day was added next to
    the last seventh) and everywhere past a few months; a label at a bar's left edge ran off
    the chart at the last bar. Centres are kept inside the viewBox by half a label.
    """
    if count == 0:
        return []
    low, high = DAY_LABEL_WIDTH / 2, width - DAY_LABEL_WIDTH / 2

    def centre(i: int) -> float:
        return min(max(left + (i + 0.5) * step, low), high)

    # The newest label moved in from the right edge comes that much nearer its neighbour: k
    # allows for it, so the labels stay evenly spaced.
    moved_in = left + (count - 0.5) * step - centre(count - 1)
    every = max(1, math.ceil((DAY_LABEL_WIDTH + DAY_LABEL_GAP + moved_in) / step))
    return [(i, centre(i)) for i in reversed(range(count - 1, -1, -every))]


def day_bars(series: Sequence[tuple[date, int]], *, title: str) -> Markup:
    """A vertical bar per day, labelled as often as the labels fit (`day_label_positions`)."""
    width, height, top, bottom, left = 640, 180, 16, 28, 32
    peak = max((n for _, n in series), default=0) or 1
    step = (width - left) / max(len(series), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<text x="0" y="{top}" font-size="11" fill="{MUTED}">{peak}</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#cbd5e1"/>',
    ]
    usable = height - top - bottom
    for i, (day, count) in enumerate(series):
        bar = usable * count / peak
        x = left + i * step
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{height - bottom - bar:.1f}" width="{max(step - 2, 1):.1f}" height="{bar:.1f}" '
            f'fill="{BAR}"><title>{day.isoformat()}: {count}</title></rect>'
        )
    for i, centre in day_label_positions(len(series), left=left, step=step, width=width):
        parts.append(
            f'<text x="{centre:.1f}" y="{height - 10}" font-size="10" fill="{MUTED}" text-anchor="middle">'
            f'{series[i][0].strftime("%m-%d")}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def outlet_bars(counts: Sequence[tuple[str, int]], *, title: str) -> Markup:
    """A horizontal bar per outlet, largest first."""
    row, label_width, width = 22, 170, 640
    height = row * max(len(counts), 1) + 8
    peak = max((n for _, n in counts), default=0) or 1
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for i, (name, count) in enumerate(counts):
        y = 4 + i * row
        bar = (width - label_width - 40) * count / peak
        parts.append(f'<text x="0" y="{y + 15}" font-size="12" fill="#0f172a">{escape(name[:28])}</text>')
        parts.append(f'<rect x="{label_width}" y="{y + 3}" width="{bar:.1f}" height="{row - 8}" fill="{BAR}"/>')
        parts.append(f'<text x="{label_width + bar + 4:.1f}" y="{y + 15}" font-size="12" fill="{MUTED}">{count}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def spread_timeline(points: Sequence[tuple[str, datetime, str]], tz: ZoneInfo) -> Markup:
    """How a storyline spread: one row per outlet, a dot per copy, time running left to right.

    `points` are (outlet, reported at, tooltip) in the order the copies were reported.
    """
    if not points:
        return Markup("")
    outlets = list(dict.fromkeys(p[0] for p in points))
    row, label_width, width = 24, 150, 640
    height = row * len(outlets) + 30
    first, last = points[0][1], max(p[1] for p in points)
    span = (last - first).total_seconds() or 1.0
    usable = width - label_width - 20
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="how the story spread" '
        'xmlns="http://www.w3.org/2000/svg"><title>how the story spread</title>'
    ]
    for i, outlet in enumerate(outlets):
        y = 12 + i * row
        parts.append(f'<text x="0" y="{y + 4}" font-size="12" fill="#0f172a">{escape(outlet[:24])}</text>')
        parts.append(f'<line x1="{label_width}" y1="{y}" x2="{width - 10}" y2="{y}" stroke="#e2e8f0"/>')
    for outlet, at, tooltip in points:
        x = label_width + usable * (at - first).total_seconds() / span
        y = 12 + outlets.index(outlet) * row
        parts.append(f'<circle cx="{x:.1f}" cy="{y}" r="6" fill="{BAR}"><title>{escape(tooltip)}</title></circle>')
    axis_y = height - 6
    parts.append(
        f'<text x="{label_width}" y="{axis_y}" font-size="10" fill="{MUTED}">'
        f'{first.astimezone(tz).strftime("%Y-%m-%d %H:%M")}</text>'
    )
    if last > first:
        parts.append(
            f'<text x="{width - 10}" y="{axis_y}" font-size="10" fill="{MUTED}" text-anchor="end">'
            f'{last.astimezone(tz).strftime("%Y-%m-%d %H:%M")}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def after_first(delta: timedelta) -> str:
    """'first', '+45m', '+3h', '+2d 4h': how long after the first report a copy appeared."""
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        return "first"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"+{days}d {hours}h" if hours else f"+{days}d"
    if hours:
        return f"+{hours}h {minutes}m" if minutes else f"+{hours}h"
    return f"+{max(minutes, 1)}m"
