"""The console's SVG charts, read as SVG: where the labels sit, not how a picture looks."""

from __future__ import annotations

import re
from datetime import date, timedelta
from itertools import pairwise

import pytest

from scheduler.web.charts import day_bars

VIEW_WIDTH = 640
# A "12-03" at font-size 10 is about 28 units wide in a proportional font (digits are about
# 0.56 em); 30 leaves a little room, so two labels this far apart never touch.
DAY_LABEL_WIDTH = 30
_LABEL = re.compile(r'<text x="([\d.]+)"([^>]*)>(\d\d-\d\d)</text>')
_ANCHOR = re.compile(r'text-anchor="(start|middle|end)"')


def day_labels(svg: str) -> list[tuple[float, float, str]]:
    """Each day label's extent (left, right) in the viewBox, and its text, left to right."""
    labels = []
    for x, attributes, text in _LABEL.findall(svg):
        anchor = _ANCHOR.search(attributes)
        left = float(x) - {"middle": DAY_LABEL_WIDTH / 2, "end": DAY_LABEL_WIDTH}.get(anchor[1] if anchor else "", 0)
        labels.append((left, left + DAY_LABEL_WIDTH, text))
    return labels


@pytest.mark.parametrize("days", [7, 14, 30, 31, 60, 90, 180, 365])
def test_day_labels_neither_overlap_nor_run_off_the_chart(days: int) -> None:
    # On /topics/<name> (30 days) "12-03" and "12-04" sat at x=599.5 and 619.7 in a 640-wide
    # chart: on top of each other, the last cut off at the right edge.
    today = date(2025, 12, 4)
    series = [(today - timedelta(days=days - 1 - i), i % 5) for i in range(days)]
    svg = str(day_bars(series, title="articles per day"))
    assert f'viewBox="0 0 {VIEW_WIDTH} ' in svg
    labels = day_labels(svg)
    assert len(labels) >= min(days, 4), labels
    assert labels[-1][2] == "12-04"  # the newest day is always labelled
    for left, right, text in labels:
        assert left >= 0 and right <= VIEW_WIDTH, (text, left, right)
    for (_, right, first), (left, _, second) in pairwise(labels):
        assert left >= right, (first, second, right, left)
