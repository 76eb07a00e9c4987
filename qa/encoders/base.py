"""The `Encoder` protocol every encoder implements (token vectors optional), and the CPU threads encoders use.

The leaf of `qa.encoders`: the torch and ONNX encoders import it, and neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

_threads = 0  # CPU threads of encoders made from now on (0: one per core); set_threads changes it


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


@runtime_checkable
class TokenEncoder(Encoder, Protocol):
    """An `Encoder` that also gives each text's token vectors (both packaged backends do; the answerers' token
    alignment uses them where an encoder has them, `isinstance(encoder, TokenEncoder)`)."""

    def encode_tokens(self, texts: Sequence[str], *, batch_size: int | None = None) -> tuple[np.ndarray, list[TokenVectors]]:
        """`encode(texts)` and each text's `TokenVectors`, from the same pass of the model."""
        ...


def token_vectors(ids: np.ndarray, hidden: np.ndarray) -> TokenVectors:
    """A `TokenVectors` of these ids and hidden states, each row scaled to length 1."""
    hidden = np.asarray(hidden, dtype=np.float32)
    norms = np.maximum(np.linalg.norm(hidden, axis=1, keepdims=True), 1e-12)
    return TokenVectors(np.asarray(ids, dtype=np.int32), np.ascontiguousarray(hidden / norms))


def set_threads(threads: int) -> None:
    """CPU threads for encoders from now on (torch, and ONNX sessions opened after this); 0: one per core."""
    global _threads
    _threads = max(0, threads)
    if threads > 0:
        import torch  # only when asked: encoders that run without torch never load it

        torch.set_num_threads(threads)


def threads() -> int:
    """The CPU threads `set_threads` chose for new encoders (0: one per core)."""
    return _threads
