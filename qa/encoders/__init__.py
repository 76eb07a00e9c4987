"""Text encoders: the `Encoder` protocol, its sentence-transformers implementation, and `load_encoder`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

import numpy as np

from qa.errors import ConfigError
from qa.hf import (  # noqa: F401 - re-exported: the loading helpers used to live here
    DEFAULT_MODEL,
    embedding_dimension,
    load_sentence_transformer,
    packaged_model_path,
    quiet_libraries,
    resolve_model,
)

log = logging.getLogger(__name__)

# torch: sentence-transformers as is; onnx: the same model on ONNX Runtime (same vectors, faster
# queries); onnx-int8: weights quantised to int8 (about 1.6x faster ingest on CPU, cosine 0.99 to torch's)
BACKENDS: tuple[str, ...] = ("torch", "onnx", "onnx-int8")
DEFAULT_BACKEND = "onnx-int8"
TORCH_BATCH_SIZE = 16  # faster than sentence-transformers' 64 on small CPUs: less padding per batch


class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors and counts tokens the way the model does."""

    name: str
    backend: str
    dimension: int
    max_tokens: int

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None, progress: bool = False) -> np.ndarray:
        """Return a float32 array of shape (len(texts), dimension), rows of unit length."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Return the number of model tokens of each text, without special tokens."""
        ...


@dataclass(frozen=True)
class TokenVectors:
    """One text's contextual token vectors (the model's last hidden state, special tokens left out, rows of unit
    length) and the model's token ids for them; what encoders with `encode_tokens` return beside the text vector."""

    ids: np.ndarray  # int32, (n,)
    vectors: np.ndarray  # float32, (n, dimension)


def token_vectors(ids: np.ndarray, hidden: np.ndarray) -> TokenVectors:
    """A `TokenVectors` of these ids and hidden states, each row scaled to length 1."""
    hidden = np.asarray(hidden, dtype=np.float32)
    norms = np.maximum(np.linalg.norm(hidden, axis=1, keepdims=True), 1e-12)
    return TokenVectors(np.asarray(ids, dtype=np.int32), np.ascontiguousarray(hidden / norms))


class SentenceTransformerEncoder:
    """An `Encoder` backed by any sentence-transformers model id or local path."""

    def __init__(self, model: str = DEFAULT_MODEL, *, device: str = "cpu") -> None:
        self.name = model
        self.backend = "torch"
        self._model = load_sentence_transformer(resolve_model(model), device)
        self.dimension = embedding_dimension(self._model)
        self.max_tokens = int(self._model.max_seq_length or 256)
        self._tokenizer = self._model.tokenizer

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=batch_size or TORCH_BATCH_SIZE,
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

    def encode_tokens(self, texts: Sequence[str], *, batch_size: int | None = None) -> tuple[np.ndarray, list[TokenVectors]]:
        """`encode(texts)` and each text's contextual token vectors with their ids (see `OnnxEncoder.encode_tokens`)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        rows = self._model.encode(list(texts), batch_size=batch_size or TORCH_BATCH_SIZE, output_value=None,
                                  normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        special = set(self._tokenizer.all_special_ids)
        tokens = []
        for row in rows:  # padded to the batch's longest text: the attention mask says how far each goes
            n = int(row["attention_mask"].sum())
            ids = row["input_ids"][:n].cpu().numpy()
            hidden = row["token_embeddings"][:n].float().cpu().numpy()
            keep = [i for i, t in enumerate(ids) if int(t) not in special]
            tokens.append(token_vectors(ids[keep], hidden[keep]))
        vectors = np.stack([row["sentence_embedding"].float().cpu().numpy() for row in rows])
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(vectors, dtype=np.float32), tokens


EncoderFactory = Callable[[str], Encoder]
_REGISTERED: dict[str, EncoderFactory] = {}


def register_encoder(model: str, factory: EncoderFactory) -> None:
    """Make `load_encoder(model, backend)` return `factory(backend)`: encoders that are not
    sentence-transformers models (a plugin's, a remote service's, a test's deterministic fake)."""
    _REGISTERED[model] = factory


def unregister_encoder(model: str) -> None:
    _REGISTERED.pop(model, None)


def load_encoder(model: str = DEFAULT_MODEL, backend: str = DEFAULT_BACKEND) -> Encoder:
    """The encoder for a model id or path on a backend (see `BACKENDS`), or a registered encoder's."""
    if model in _REGISTERED:
        return _REGISTERED[model](backend)
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "torch":
        return SentenceTransformerEncoder(model)
    from qa.onnx_encoder import OnnxEncoder

    return OnnxEncoder(model, quantize=backend == "onnx-int8")


def set_threads(threads: int) -> None:
    """CPU threads for encoders from now on (torch, and ONNX sessions opened after this); 0: one per core."""
    from qa import onnx_encoder

    onnx_encoder.THREADS = max(0, threads)
    if threads > 0:
        import torch

        torch.set_num_threads(threads)
