"""Server-rendered SVG charts: throughput per hour, cycle-time stages and run timelines.

Each function returns SVG markup with a title and a description for screen readers; all
text is escaped and all numbers are computed here, so templates only place the chart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 12, 16, 30


@dataclass(frozen=True, kw_only=True, slots=True)
class Series:
    """One line of a chart."""

    name: str
    values: tuple[int, ...]
    css_class: str


def _scale_max(values: Sequence[int]) -> int:
    top = max([*values, 1])
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000):
        if top <= step * 4:
            return step * 4
    return top


def _points(values: Sequence[int], top: int) -> str:
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    step = inner_w / max(len(values) - 1, 1)
    return " ".join(
        f"{PAD_LEFT + i * step:.1f},{PAD_TOP + inner_h - v / top * inner_h:.1f}"
        for i, v in enumerate(values)
    )


def _grid(top: int) -> list[str]:
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    parts = []
    for k in range(5):
        y = PAD_TOP + inner_h - k / 4 * inner_h
        parts.append(
            f'<line class="gridline" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{top * k // 4}</text>"
        )
    return parts


def _day_labels(first_hour: int, hours: int) -> list[str]:
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    step = inner_w / max(hours - 1, 1)
    parts = []
    for i in range(hours):
        hour = first_hour + i
        if hour % 24 == 0:
            day = dt.datetime.fromtimestamp(hour * 3600, dt.UTC).strftime("%a %d")
            x = PAD_LEFT + i * step
            parts.append(
                f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{PAD_TOP}" '
                f'y2="{HEIGHT - PAD_BOTTOM}"/><text class="axis" x="{x:.1f}" '
                f'y="{HEIGHT - 10}" text-anchor="middle">{day}</text>'
            )
    return parts


def throughput(series: Sequence[Series], *, first_hour: int, title: str) -> Markup:
    """A line chart of counts per hour, one line per series, with day marks (UTC)."""
    hours = max((len(s.values) for s in series), default=0)
    top = _scale_max([v for s in series for v in s.values])
    totals = ", ".join(f"{s.name}: {sum(s.values)}" for s in series)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-title chart-desc" preserveAspectRatio="xMidYMid meet">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">Per hour over {hours // 24} days; totals {escape(totals)}.</desc>',
        *_grid(top),
        *_day_labels(first_hour, hours),
    ]
    for s in series:
        parts.append(
            f'<polyline class="line {escape(s.css_class)}" fill="none" '
            f'points="{_points(s.values, top)}"><title>{escape(s.name)}</title></polyline>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def stages(items: Sequence[tuple[str, float | None]], *, title: str) -> Markup:
    """Horizontal bars: the median duration (seconds) of each delivery-to-cash stage."""
    height = 34 * len(items) + 12
    top = max([v for _, v in items if v] + [1.0])
    label_w, bar_w = 170, WIDTH - 170 - 110
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, seconds) in enumerate(items):
        y = 8 + i * 34
        width = 0.0 if not seconds else max(seconds / top * bar_w, 2.0)
        parts.append(
            f'<text class="axis" x="{label_w - 8}" y="{y + 17}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect class="bar" x="{label_w}" y="{y + 4}" width="{width:.1f}" height="18" rx="3"/>'
            f'<text class="value" x="{label_w + width + 6:.1f}" y="{y + 17}">'
            f"{escape(duration(seconds))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def timeline(bars: Sequence[tuple[str, float, float, str]], *, title: str) -> Markup:
    """A Gantt strip of a run's steps: (label, start offset s, end offset s, status)."""
    height = 28 * len(bars) + 14
    end = max([b[2] for b in bars] + [0.001])
    label_w, bar_w = 170, WIDTH - 170 - 90
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, start, stop, status) in enumerate(bars):
        y = 6 + i * 28
        x = label_w + start / end * bar_w
        width = max((stop - start) / end * bar_w, 2.0)
        parts.append(
            f'<text class="axis" x="{label_w - 8}" y="{y + 15}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect class="bar status-{escape(status)}" x="{x:.1f}" y="{y + 3}" '
            f'width="{width:.1f}" height="16" rx="3"><title>{escape(status)}</title></rect>'
            f'<text class="value" x="{x + width + 6:.1f}" y="{y + 15}">'
            f"{escape(duration(stop - start))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def duration(seconds: float | None) -> str:
    """A duration in words a person reads at a glance (``2 h 5 min``)."""
    if seconds is None:
        return "no data yet"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d {hours % 24} h"
