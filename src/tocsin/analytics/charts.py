"""Charts drawn on the server as SVG (pure): a title and a description for screen readers, no script, no
library. Pages show the same figures in a table next to each chart."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from itertools import count

_ids = count(1)


def bar_chart(
    title: str,
    description: str,
    points: Sequence[tuple[str, float | None]],
    *,
    unit: str = "",
    width: int = 640,
    height: int = 200,
) -> str:
    """Bars of ``points`` (label, value); a missing value draws no bar and says so in its tooltip."""
    n = next(_ids)
    top = max((v for _, v in points if v is not None), default=0.0) or 1.0
    left, bottom, right = 48, 28, 8
    plot_w, plot_h = width - left - right, height - bottom - 12
    slot = plot_w / max(len(points), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" aria-labelledby="chart-title-{n} chart-desc-{n}">',
        f'<title id="chart-title-{n}">{escape(title)}</title>',
        f'<desc id="chart-desc-{n}">{escape(description)}</desc>',
        f'<line x1="{left}" y1="{12 + plot_h}" x2="{width - right}" y2="{12 + plot_h}" class="axis" '
        'stroke="currentColor"/>',
        f'<text x="{left - 4}" y="16" text-anchor="end" font-size="10" fill="currentColor">'
        f"{_fmt(top)}{escape(unit)}</text>",
        f'<text x="{left - 4}" y="{12 + plot_h}" text-anchor="end" font-size="10" fill="currentColor">0</text>',
    ]
    every = max(1, len(points) // 8)
    for i, (label, value) in enumerate(points):
        x = left + i * slot + slot * 0.15
        w = slot * 0.7
        if value is not None:
            h = plot_h * (value / top)
            parts.append(
                f'<rect x="{x:.1f}" y="{12 + plot_h - h:.1f}" width="{w:.1f}" height="{h:.1f}" class="bar" '
                f'fill="currentColor" opacity="0.7"><title>{escape(label)}: {_fmt(value)}{escape(unit)}</title></rect>'
            )
        if i % every == 0:
            parts.append(
                f'<text x="{x + w / 2:.1f}" y="{height - 10}" text-anchor="middle" font-size="10" '
                f'fill="currentColor">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"
