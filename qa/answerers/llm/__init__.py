"""Language models for written answers: `load_generator(spec)` opens a local GGUF file (local.py) or an
OpenAI-compatible server (http.py); base.py holds the Generator interface, its settings and its errors."""

from __future__ import annotations

import inspect
import re
from typing import Any, Mapping

from qa import config
from qa.answerers.llm.base import (
    DEFAULT_CONTEXT_SIZE, DEFAULT_MAX_TOKENS, ROLES, SMOLLM2_FILE, SMOLLM2_INSTALL, VALID_SPECS,
    AuthenticationError, ContextOverflowError, Finish, GenerationSettings, GenerationTimeoutError, Generator,
    Message, Messages, ModelFileError, ModelNotFoundError, Reply, ServerUnreachableError, check_messages,
    estimate_message_tokens, estimate_tokens, packaged_smollm2,
)
from qa.answerers.llm.http import OpenAICompatibleGenerator
from qa.answerers.llm.local import LocalGenerator
from qa.errors import ConfigError

__all__ = [
    "DEFAULT_CONTEXT_SIZE", "DEFAULT_MAX_TOKENS", "ROLES", "SMOLLM2_FILE", "SMOLLM2_INSTALL", "VALID_SPECS",
    "AuthenticationError", "ContextOverflowError", "Finish", "GenerationSettings", "GenerationTimeoutError", "Generator",
    "LocalGenerator", "Message", "Messages", "ModelFileError", "ModelNotFoundError", "OpenAICompatibleGenerator", "Reply",
    "ServerUnreachableError", "check_messages", "estimate_message_tokens", "estimate_tokens", "load_generator",
    "packaged_smollm2",
]


def load_generator(spec: str = "", model: str = "", **settings: Any) -> Generator:
    """PATH.gguf runs in this process, an http(s) URL is an OpenAI-compatible server; an empty spec or model is
    `$QA_LLM` or `$QA_LLM_MODEL` (`config.llm_spec`, `config.llm_model`)."""
    spec = config.llm_spec(spec or None)
    if not spec:
        raise ConfigError(f"no language model given: set --llm (or QA_LLM) to {VALID_SPECS}")
    if re.match(r"(?i)https?://", spec):
        _check_settings(OpenAICompatibleGenerator, settings, "an OpenAI-compatible server")
        return OpenAICompatibleGenerator(spec, model=config.llm_model(model or None), **settings)
    if "://" in spec:
        raise ConfigError(f"--llm {spec!r}: only http:// and https:// servers are supported; give {VALID_SPECS}")
    if spec.lower().endswith(".gguf"):
        if model:
            raise ConfigError(f"--llm-model {model!r} names a model on a server; the file {spec} is the model itself")
        _check_settings(LocalGenerator, settings, "a local GGUF model")
        return LocalGenerator(spec, **settings)
    raise ConfigError(f"--llm {spec!r} is not a model: give {VALID_SPECS}")


def _check_settings(cls: type, settings: Mapping[str, Any], kind: str) -> None:
    params = inspect.signature(cls.__init__).parameters
    valid = sorted(n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY and n != "model")
    unknown = sorted(set(settings) - set(valid))
    if unknown:
        raise ConfigError(f"unknown setting {', '.join(map(repr, unknown))} for {kind}; valid: {', '.join(valid)}")
