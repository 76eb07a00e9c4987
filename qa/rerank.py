"""Optional cross-encoder reranking of retrieved passages (sentence-transformers `CrossEncoder`)."""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import lru_cache
from typing import Any, Sequence

from qa.errors import ConfigError
from qa.types import Hit

log = logging.getLogger(__name__)

SUGGESTED_MODEL = "cross-encoder/ms-marco-MiniLM-L-6-v2"  # needs network access on first use


class Reranker:
    """`Reranker("cross-encoder/ms-marco-MiniLM-L-6-v2").rank(query, hits)`: hits rescored, best first."""

    def __init__(self, model: str, *, device: str = "cpu", max_length: int = 512) -> None:
        self.name = model
        self._model = _load(model, device, max_length)

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        """The cross-encoder's relevance score of each text for the query (higher is better)."""
        if not texts:
            return []
        raw = self._model.predict([(query, t) for t in texts], show_progress_bar=False, convert_to_numpy=True)
        return [float(s) for s in raw.reshape(len(texts), -1)[:, -1]]

    def rank(self, query: str, hits: Sequence[Hit]) -> list[Hit]:
        """The hits reordered by cross-encoder score; each hit's score becomes that score."""
        scores = self.scores(query, [f"{h.title}\n{h.text}" if h.title else h.text for h in hits])
        rescored = [replace(h, score=s) for h, s in zip(hits, scores)]
        order = sorted(range(len(rescored)), key=lambda i: (-rescored[i].score, i))
        return [rescored[i] for i in order]


@lru_cache(maxsize=2)
def load_reranker(model: str) -> Reranker:
    """A Reranker, loaded once per process and model."""
    return Reranker(model)


def _load(model: str, device: str, max_length: int) -> Any:
    from sentence_transformers import CrossEncoder

    from qa.encoders.hf import quiet_libraries

    quiet_libraries()
    log.info("loading cross-encoder %s", model)
    try:
        return CrossEncoder(model, device=device, max_length=max_length)
    except Exception as exc:  # the library raises many kinds for a bad id or path
        raise ConfigError(
            f"cannot load cross-encoder {model!r}: {exc}. Give a local CrossEncoder directory, or with network "
            f"access a model id such as {SUGGESTED_MODEL}."
        ) from exc
