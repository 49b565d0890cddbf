"""The installable app's icon, drawn in code: a white bell on the console's header colour.

Browsers want PNG icons of given sizes for an installed web app; they are drawn here once per size (a few
geometric shapes filled row by row) and written with a minimal PNG encoder, so no
image file or imaging library is needed. The same shapes are written as SVG for browsers that take it.
"""

from __future__ import annotations

import struct
import zlib
from functools import lru_cache

BACKGROUND = (0x1F, 0x2A, 0x37)
THEME_COLOUR = "#1f2a37"
BELL = (0xFF, 0xFF, 0xFF)
ACCENT = (0xFF, 0xBF, 0x47)
SIZES = (192, 512)

# The shapes, in a 100 by 100 box.
_DOME = (50.0, 46.0, 24.0)  # centre x, centre y, radius: the bell's round top
_BODY = (26.0, 46.0, 74.0, 66.0)  # left, top, right, bottom
_LIP = (18.0, 66.0, 82.0, 73.0)
_CLAPPER = (50.0, 79.0, 7.0)
_KNOB = (50.0, 20.0, 5.0)


def _circle_span(y: float, c: tuple[float, float, float]) -> tuple[float, float] | None:
    dy = y - c[1]
    if abs(dy) > c[2]:
        return None
    half = (c[2] ** 2 - dy**2) ** 0.5
    return c[0] - half, c[0] + half


def _box_span(y: float, b: tuple[float, float, float, float]) -> tuple[float, float] | None:
    return (b[0], b[2]) if b[1] <= y <= b[3] else None


def _spans(y: float) -> list[tuple[tuple[float, float], tuple[int, int, int]]]:
    """The horizontal stretches of row ``y`` (in the 100 by 100 box) each shape covers, painted in this order."""
    bell = [
        _circle_span(y, _DOME) if y <= _DOME[1] else None,
        _box_span(y, _BODY),
        _box_span(y, _LIP),
        _circle_span(y, _KNOB),
    ]
    found = [(span, BELL) for span in bell if span is not None]
    clapper = _circle_span(y, _CLAPPER)
    if clapper is not None:
        found.append((clapper, ACCENT))
    return found


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@lru_cache(maxsize=len(SIZES))
def png(size: int) -> bytes:
    """The icon as a ``size`` by ``size`` RGB PNG."""
    if size not in SIZES:
        raise ValueError(f"icon sizes are {SIZES}")
    scale = 100.0 / size
    background = bytes(BACKGROUND) * size
    rows = bytearray()
    for py in range(size):
        row = bytearray(background)
        for (left, right), colour in _spans((py + 0.5) * scale):
            first = max(0, round(left / scale))
            last = min(size, round(right / scale))
            if last > first:
                row[first * 3 : last * 3] = bytes(colour) * (last - first)
        rows.append(0)  # filter type None
        rows += row
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )


def svg() -> str:
    """The same drawing as SVG."""

    def hexed(c: tuple[int, int, int]) -> str:
        return "#" + bytes(c).hex()

    dx, dy, dr = _DOME
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
        f'<rect width="100" height="100" fill="{hexed(BACKGROUND)}"/>'
        f'<circle cx="{_KNOB[0]}" cy="{_KNOB[1]}" r="{_KNOB[2]}" fill="{hexed(BELL)}"/>'
        f'<path d="M{dx - dr} {dy} A{dr} {dr} 0 0 1 {dx + dr} {dy} Z" fill="{hexed(BELL)}"/>'
        f'<rect x="{_BODY[0]}" y="{_BODY[1]}" width="{_BODY[2] - _BODY[0]}" height="{_BODY[3] - _BODY[1]}" '
        f'fill="{hexed(BELL)}"/>'
        f'<rect x="{_LIP[0]}" y="{_LIP[1]}" width="{_LIP[2] - _LIP[0]}" height="{_LIP[3] - _LIP[1]}" '
        f'fill="{hexed(BELL)}"/>'
        f'<circle cx="{_CLAPPER[0]}" cy="{_CLAPPER[1]}" r="{_CLAPPER[2]}" fill="{hexed(ACCENT)}"/>'
        "</svg>"
    )
