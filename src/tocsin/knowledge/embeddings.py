"""Text embeddings for similar incidents (ADR 0039), optional: a small static word-embedding model (WordLlama, the
``embeddings`` extra) whose weights and tokenizer ship inside its Python package. It is loaded from the package
alone, with downloads disabled, so no run ever reaches the network for it; a missing package is a clear error at
start, not a silent fallback.

Vectors are unit length, so that a dot product is the cosine similarity. The model averages learned token vectors:
thousands of titles a second on one core, which is what lets similar incidents embed their candidates on the spot
instead of keeping a vector index."""

from __future__ import annotations

import importlib.util
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, Protocol

MODELS: Final = ("wordllama",)
# Dimensions kept of the model's 256 (its embeddings are trained to be truncated): half the memory and time for
# little loss on short titles.
DIMENSIONS: Final = 128


class Embedder(Protocol):
    name: str

    def similarities(self, text: str, others: Sequence[str]) -> list[float]:
        """Cosine similarity of ``text`` to each of ``others``, in their order."""
        ...


class WordLlamaEmbedder:
    name = "wordllama"

    def __init__(self) -> None:
        from wordllama import WordLlama  # type: ignore[import-untyped]

        self._model = WordLlama.load(trunc_dim=DIMENSIONS, cache_dir=_packaged_files(), disable_download=True)

    def similarities(self, text: str, others: Sequence[str]) -> list[float]:
        if not others:
            return []
        vectors: Any = self._model.embed([text, *others], norm=True)
        return [float(x) for x in vectors[1:] @ vectors[0]]


def _packaged_files() -> Path:
    """A directory laid out as the model's loader looks for files, pointing at the ones its package ships: the
    weights are found beside its code, the tokenizer's settings only under this name."""
    spec = importlib.util.find_spec("wordllama")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "TOCSIN_SIMILAR_MODEL=wordllama needs the embeddings extra: pip install 'tocsin[embeddings]'"
        )
    package = Path(spec.origin).parent
    root = Path(tempfile.mkdtemp(prefix="tocsin-wordllama-"))
    for folder in ("tokenizers", "tokenizer"):
        (root / folder).mkdir()
        for shipped in (package / "tokenizers").glob("*.json"):
            (root / folder / shipped.name).symlink_to(shipped)
    return root


def load(name: str) -> Embedder | None:
    """The embedder a setting names; empty: none."""
    if not name:
        return None
    if name == "wordllama":
        return WordLlamaEmbedder()
    raise ValueError(f"unknown similar-incidents model {name!r} (one of {', '.join(MODELS)})")
