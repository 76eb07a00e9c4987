"""Text encoders: the `Encoder` protocol (base.py), `load_encoder(model, backend)` and the registry of other encoders.

A sentence-transformers model runs on torch (torch.py) or on ONNX Runtime (onnx.py: exported once, int8 by
default); hf.py loads the models for both. `register_encoder` adds encoders that are not sentence-transformers
models: a plugin's, a remote service's, a test's deterministic fake.
"""

from __future__ import annotations

import logging
from typing import Callable

from qa import config
from qa.encoders.base import Encoder, TokenEncoder, TokenVectors, set_threads, threads, token_vectors
from qa.encoders.hf import embedding_dimension, load_sentence_transformer, packaged_model_path, quiet_libraries, resolve_model
from qa.encoders.onnx import OnnxEncoder
from qa.encoders.torch import SentenceTransformerEncoder
from qa.errors import ConfigError

__all__ = ["Encoder", "OnnxEncoder", "SentenceTransformerEncoder", "TokenEncoder", "TokenVectors", "embedding_dimension",
           "load_encoder", "load_sentence_transformer", "packaged_model_path", "quiet_libraries", "register_encoder",
           "resolve_model", "set_threads", "threads", "token_vectors", "unregister_encoder"]

log = logging.getLogger(__name__)


EncoderFactory = Callable[[str], Encoder]
_REGISTERED: dict[str, EncoderFactory] = {}


def register_encoder(model: str, factory: EncoderFactory) -> None:
    """Make `load_encoder(model, backend)` return `factory(backend)`: encoders that are not
    sentence-transformers models (a plugin's, a remote service's, a test's deterministic fake)."""
    _REGISTERED[model] = factory


def unregister_encoder(model: str) -> None:
    _REGISTERED.pop(model, None)


def load_encoder(model: str = config.MODEL, backend: str = config.ENCODER_BACKEND) -> Encoder:
    """The encoder for a model id or path on a backend (`config.ENCODER_BACKENDS`), or a registered encoder's."""
    if model in _REGISTERED:
        return _REGISTERED[model](backend)
    if backend not in config.ENCODER_BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(config.ENCODER_BACKENDS)}, got {backend!r}")
    if backend == "torch":
        return SentenceTransformerEncoder(model)
    return OnnxEncoder(model, quantize=backend == "onnx-int8")
