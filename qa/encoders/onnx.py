"""ONNX Runtime encoder: a sentence-transformers model exported once to ONNX (int8 by default), run without torch."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from qa.encoders.base import TokenVectors, token_vectors
from qa.encoders.base import threads as chosen_threads
from qa.encoders.hf import embedding_dimension, load_sentence_transformer, quiet_libraries, resolve_model
from qa.errors import ConfigError

log = logging.getLogger(__name__)

POOLINGS = ("mean", "cls", "max")
EXPORT_FORMAT = 1  # bump when the exported files change meaning; old cache entries are then ignored
BATCH_SIZE = 32  # fastest on small CPUs: less padding per batch than sentence-transformers' 64


class OnnxEncoder:
    """An `Encoder` running a sentence-transformers model (Transformer + Pooling [+ Normalize]) on ONNX Runtime.

    The model is exported with torch once, quantised to int8 (per-channel dynamic quantisation) when
    `quantize`, and cached under `cache_dir` (default `$QA_CACHE_DIR` or `~/.cache/article-qa`).
    """

    def __init__(self, model: str, *, quantize: bool = True, cache_dir: str | os.PathLike[str] | None = None) -> None:
        quiet_libraries()
        self.name = model
        self.backend = "onnx-int8" if quantize else "onnx"
        folder = _exported(resolve_model(model), quantize, Path(cache_dir) if cache_dir else default_cache_dir())
        config = json.loads((folder / "encoder.json").read_text(encoding="utf-8"))
        self.dimension = int(config["dimension"])
        self.max_tokens = int(config["max_tokens"])
        self._pooling = str(config["pooling"])
        self._inputs = list(config["inputs"])
        self._tokenizer = _tokenizer(str(folder))
        self._file = str(folder / "model.onnx")
        threads = chosen_threads()  # ONNX Runtime intra-op threads (0: one per core); see set_threads
        self._session = _session(self._file, threads)  # one call at a time, all cores: the lowest latency
        self._workers = threads or _cores()

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encoded = self._tokenizer(list(texts), truncation=True, max_length=self.max_tokens)
        ids = encoded["input_ids"]
        order = np.argsort([-len(x) for x in ids], kind="stable")  # similar lengths together: less padding
        size = batch_size or BATCH_SIZE
        out = np.empty((len(ids), self.dimension), dtype=np.float32)
        batches = [order[start : start + size] for start in range(0, len(order), size)]
        # many batches: one single-threaded run per core at once, 1.15-1.3x the throughput of one run over
        # all cores on 2 cores (small matrices split across threads mostly wait); the batches are the same
        session = self._session if len(batches) == 1 or self._workers == 1 else _session(self._file, 1)

        def run(rows: np.ndarray) -> None:
            feeds, mask = self._batch(encoded, rows)
            out[rows] = _pool(session.run(None, feeds)[0], mask, self._pooling)

        bar = _progress(len(batches), progress)
        if session is self._session:
            for rows in batches:
                run(rows)
                bar.update(1)
        else:
            with ThreadPoolExecutor(min(self._workers, len(batches)), thread_name_prefix="encode") as pool:
                for _ in pool.map(run, batches):
                    bar.update(1)
        bar.close()
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        return [len(x) for x in self._tokenizer(list(texts), add_special_tokens=False, truncation=False)["input_ids"]]

    def encode_tokens(self, texts: Sequence[str], *, batch_size: int | None = None) -> tuple[np.ndarray, list[TokenVectors]]:
        """`encode(texts)` and, from the same forward pass, each text's contextual token vectors (the last hidden
        state, special tokens left out, rows of unit length) with their token ids: for token-level alignment
        (MaxSim) of a few texts at question time. `encode` stays the faster path for bulk work."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        encoded = self._tokenizer(list(texts), truncation=True, max_length=self.max_tokens)
        ids = encoded["input_ids"]
        special = set(self._tokenizer.all_special_ids)
        order = np.argsort([-len(x) for x in ids], kind="stable")
        size = batch_size or BATCH_SIZE
        out = np.empty((len(ids), self.dimension), dtype=np.float32)
        tokens: list[TokenVectors] = [None] * len(ids)  # type: ignore[list-item]
        for start in range(0, len(order), size):
            rows = order[start : start + size]
            feeds, mask = self._batch(encoded, rows)
            hidden = self._session.run(None, feeds)[0]
            out[rows] = _pool(hidden, mask, self._pooling)
            for j, i in enumerate(rows):
                keep = [t for t, token in enumerate(ids[i]) if token not in special]
                tokens[i] = token_vectors(np.asarray(ids[i], dtype=np.int32)[keep], hidden[j, keep])
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out, tokens

    def _batch(self, encoded: Any, rows: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Right-padded int64 arrays for the model's inputs, and the attention mask."""
        width = max(len(encoded["input_ids"][i]) for i in rows)
        pad = {"input_ids": self._tokenizer.pad_token_id or 0}
        feeds = {}
        for name in self._inputs:
            array = np.full((len(rows), width), pad.get(name, 0), dtype=np.int64)
            for j, i in enumerate(rows):
                values = encoded[name][i] if name in encoded else [0] * len(encoded["input_ids"][i])
                array[j, : len(values)] = values
            feeds[name] = array
        mask = feeds.get("attention_mask")
        if mask is None:
            mask = (np.arange(width)[None, :] < np.array([len(encoded["input_ids"][i]) for i in rows])[:, None]).astype(np.int64)
        return feeds, mask


def _cores() -> int:
    """CPUs this process may run on (a container's cpuset, not the host's count where the OS says)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _progress(total: int, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="encoding", unit="batch", disable=not enabled)


def default_cache_dir() -> Path:
    """Where exported models are kept: `$QA_CACHE_DIR`, else `$XDG_CACHE_HOME/article-qa`, else `~/.cache/article-qa`."""
    if os.environ.get("QA_CACHE_DIR"):
        return Path(os.environ["QA_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "article-qa"


def _pool(hidden: np.ndarray, mask: np.ndarray, pooling: str) -> np.ndarray:
    if pooling == "cls":
        return hidden[:, 0]
    m = mask[..., None].astype(hidden.dtype)
    if pooling == "max":
        return np.where(m > 0, hidden, -np.inf).max(axis=1)
    return (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)


def _exported(path: str, quantize: bool, cache: Path) -> Path:
    """The cache folder holding the exported model for `path`; exported on first use."""
    folder = cache / "onnx" / f"{Path(path).name or 'model'}-{_fingerprint(path, quantize)}"
    if (folder / "encoder.json").exists():
        return folder
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=cache))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(work, 0o777 & ~umask)  # mkdtemp makes it private; the cache is as shared as the user's umask says
    try:
        _export(path, quantize, work)
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(work, folder)  # atomic: a concurrent exporter's finished copy is as good
        except OSError:
            if not (folder / "encoder.json").exists():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return folder


def _fingerprint(path: str, quantize: bool) -> str:
    """Changes when the model files, the libraries that export it, or the export options change."""
    from importlib.metadata import version

    parts = [path, str(quantize), str(EXPORT_FORMAT), version("onnxruntime"), version("torch")]
    root = Path(path)
    if root.is_dir():
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            stat = file.stat()
            parts.append(f"{file.relative_to(root)}:{stat.st_size}:{int(stat.st_mtime)}")
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:12]


def _export(path: str, quantize: bool, out: Path) -> None:
    """Export the model's transformer to ONNX (then int8), with its tokenizer and pooling settings."""
    import torch

    st = load_sentence_transformer(path)
    kinds = [type(m).__name__ for m in st]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
        raise ConfigError(f"model {path!r} has modules {kinds}; the ONNX backend runs Transformer + Pooling "
                          "[+ Normalize] only: use --backend torch for this model")
    pooling = st[1].pooling_mode if hasattr(st[1], "pooling_mode") else st[1].get_pooling_mode_str()
    if pooling not in POOLINGS:
        raise ConfigError(f"model {path!r} pools by {pooling!r}; the ONNX backend supports {', '.join(POOLINGS)}: "
                          "use --backend torch for this model")
    transformer = getattr(st[0], "model", None) or st[0].auto_model
    inputs = [n for n in st.tokenizer.model_input_names if n in ("input_ids", "attention_mask", "token_type_ids")]
    log.info("exporting %s to ONNX%s (once; cached in %s)", path, " int8" if quantize else "", out.parent)

    class Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = transformer

        def forward(self, *args: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(inputs, args)), return_dict=True).last_hidden_state

    sample = st.tokenizer(["an example sentence", "a second one"], padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "tokens"} for name in [*inputs, "hidden"]}
    full = out / ("model-fp32.onnx" if quantize else "model.onnx")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notices about Python control flow: shapes stay dynamic
        torch.onnx.export(Wrapped().eval(), tuple(sample[n] for n in inputs), str(full), input_names=inputs,
                          output_names=["hidden"], dynamic_axes=axes, opset_version=17, dynamo=False)
    if quantize:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        logging.disable(logging.WARNING)  # its advice to pre-process applies to static quantisation
        try:
            quantize_dynamic(str(full), str(out / "model.onnx"), weight_type=QuantType.QInt8, per_channel=True,
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        finally:
            logging.disable(logging.NOTSET)
        full.unlink()
    st.tokenizer.save_pretrained(str(out))
    config = {"source": path, "dimension": embedding_dimension(st), "max_tokens": int(st.max_seq_length or 256),
              "pooling": pooling, "inputs": inputs, "quantized": quantize}
    (out / "encoder.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


@lru_cache(maxsize=4)
def _tokenizer(folder: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder)


@lru_cache(maxsize=4)
def _session(file: str, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    # idle threads sleep instead of spinning: spinning ORT threads starve FAISS and BM25 on small
    # machines (hybrid search p50 42 ms -> 21 ms on 2 cores), and bulk encoding is no slower
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(file, options, providers=["CPUExecutionProvider"])
