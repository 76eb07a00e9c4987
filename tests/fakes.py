"""Test doubles reachable through real hooks: the deterministic fake encoder, registered with qa.encoders."""

from __future__ import annotations

import hashlib
import re
from typing import Sequence

import numpy as np

from qa.encoders import register_encoder


class FakeEncoder:
    """Hashed bag of words: texts sharing words get similar vectors; deterministic and instant."""

    name = "test/fake-hashing-encoder"
    backend = "torch"
    dimension = 64
    max_tokens = 256

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                h = int.from_bytes(hashlib.md5(word.encode()).digest()[:4], "little")
                out[row, h % self.dimension] += 1.0 if h & 1 << 20 else -1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
            if not norm:
                out[row, 0] = 1.0
        return out

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(re.findall(r"\w+|[^\w\s]", t)) for t in texts]


def register() -> None:
    """Make `load_encoder(FakeEncoder.name)` (and so `Retriever.load` on a fake-built index) give the fake."""
    register_encoder(FakeEncoder.name, lambda backend: FakeEncoder())
