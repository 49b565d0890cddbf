"""Bounding the depth of stored JSON for display (pure).

Ingest refuses details nested too deep, but rows stored before that check, or written by other paths, must still
render: the encoders give up past a few hundred levels, and a page that cannot be shown is worse than a clipped one.
"""

from __future__ import annotations

from typing import Any

DISPLAY_DEPTH = 32


def clip_depth(value: Any, max_depth: int = DISPLAY_DEPTH) -> Any:
    """``value`` with every object or array deeper than ``max_depth`` replaced by a short note saying so."""
    return _clip(value, max_depth)


def _clip(value: Any, left: int) -> Any:
    if isinstance(value, dict):
        if left <= 0:
            return "… (an object nested deeper than this, not shown)"
        return {key: _clip(item, left - 1) for key, item in value.items()}
    if isinstance(value, list):
        if left <= 0:
            return "… (an array nested deeper than this, not shown)"
        return [_clip(item, left - 1) for item in value]
    return value
