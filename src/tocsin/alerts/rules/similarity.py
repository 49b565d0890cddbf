"""Content similarity of alert summaries (pure): word sets with numbers and ids masked, compared by Jaccard."""

from __future__ import annotations

import re
from typing import Final

_WORD: Final = re.compile(r"[a-z0-9_]+")
_VARIABLE: Final = re.compile(r"^(?:\d+|[0-9a-f]{8,}|.*\d.*)$")


def tokens(text: str) -> frozenset[str]:
    """Words of a summary; words carrying digits (hosts, ids, values) become one placeholder."""
    return frozenset("#" if _VARIABLE.match(w) else w for w in _WORD.findall(text.lower()))


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)
