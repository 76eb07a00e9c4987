"""The answer reader: a cross-encoder that reads (question in its conversation, candidate sentence in its article)
and gives the logit that the sentence answers the question, and a short-answer span; ONNX, or any CrossEncoder."""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

from qa.encoders.base import threads as encoder_threads
from qa.answerers.calibration import CALIBRATION_FILE, Calibration
from qa.answerers.pairs import MAX_LENGTH, Encoded, PairEncoder, PairText, batch
from qa.errors import ConfigError

log = logging.getLogger(__name__)

PACKAGED_READER = Path(__file__).with_name("models") / "reader"  # the reader trained here (`qa train-reader`)
CONFIG_FILE, MODEL_FILE, TOKENIZER_FILE = "reader.json", "model.onnx", "tokenizer.json"
INDEX_DIR = "answer-models"  # <index>/answer-models/: what `qa calibrate` fitted for that index
FORMAT = 1
MAX_SPAN_TOKENS = 16  # the longest short answer the span head may mark
BATCH_TOKENS = 1024  # pairs of similar length run together up to about this many tokens (no padding waste)


@dataclass(frozen=True)
class ReaderOutput:
    """The reader's verdict on each pair: `logits` (higher: more likely the answer; comparable across questions)
    and, when the reader has a span head, each pair's best short span as (start, end) characters in its sentence."""

    logits: np.ndarray
    spans: list[tuple[int, int] | None] = field(default_factory=list)


class Reader(Protocol):
    """What the extractive answerer asks of a reader."""

    name: str
    config: dict[str, Any]  # what it was trained on and how its logits are calibrated (empty for foreign readers)

    def read(self, pairs: Sequence[PairText], *, spans: bool = False) -> ReaderOutput:
        """Score every pair (and find its short span when `spans` and the reader has a span head)."""
        ...


class OnnxReader:
    """A reader folder written by `qa train-reader`: `model.onnx` (int8; outputs score, start, end),
    `tokenizer.json` and `reader.json`. Loaded lazily: nothing is read until the first question."""

    def __init__(self, folder: str | os.PathLike[str], *, threads: int | None = None) -> None:
        self.folder = Path(folder)
        self.config = read_config(self.folder)
        self.name = str(self.config.get("name") or self.folder.name)
        self.threads = threads
        self._lock = threading.Lock()
        self._loaded: tuple[Any, PairEncoder] | None = None

    def _load(self) -> tuple[Any, PairEncoder]:
        with self._lock:
            if self._loaded is None:
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(self.folder / TOKENIZER_FILE))
                encoder = PairEncoder(tokenizer, int(self.config.get("max_length", MAX_LENGTH)), places=bool(self.config.get("places")))
                self._loaded = (_session(str(self.folder / MODEL_FILE), self.threads or _threads()), encoder)
            return self._loaded

    def read(self, pairs: Sequence[PairText], *, spans: bool = False) -> ReaderOutput:
        if not pairs:
            return ReaderOutput(np.zeros(0), [])
        session, encoder = self._load()
        encoded = encoder.encode(pairs)
        logits = np.zeros(len(encoded))
        found: list[tuple[int, int] | None] = [None] * len(encoded)
        for rows in _groups(encoded):
            score, start, end = session.run(None, batch([encoded[i] for i in rows]))
            for j, i in enumerate(rows):
                logits[i] = float(score[j])
                if spans:
                    found[i] = best_span(encoded[i], start[j], end[j])
        return ReaderOutput(logits, found)


class CrossEncoderReader:
    """Any sentence-transformers CrossEncoder (a folder or a model id) as the reader: it reads (conversation and
    question, title and sentence) and its logit is the score; no span head, and no calibration until `qa calibrate`."""

    def __init__(self, model: str) -> None:
        from qa.rerank import load_reranker

        self.name = model
        self.config: dict[str, Any] = {}
        self._model = load_reranker(model)

    def read(self, pairs: Sequence[PairText], *, spans: bool = False) -> ReaderOutput:
        queries = [" ".join(x for x in (p.previous_question, p.previous_answer, p.question) if x) for p in pairs]
        texts = [f"{p.title}\n{p.sentence}" if p.title else p.sentence for p in pairs]
        by_query: dict[str, list[int]] = {}
        for i, q in enumerate(queries):
            by_query.setdefault(q, []).append(i)
        logits = np.zeros(len(pairs))
        for q, rows in by_query.items():
            logits[rows] = self._model.scores(q, [texts[i] for i in rows])
        return ReaderOutput(logits, [None] * len(pairs))


def read_config(folder: Path) -> dict[str, Any]:
    path = folder / CONFIG_FILE
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the reader's settings {path}: {exc}") from None
    if config.get("format") != FORMAT:
        raise ConfigError(f"reader {folder} has format {config.get('format')}; this version reads {FORMAT}")
    for name in (MODEL_FILE, TOKENIZER_FILE):
        if not (folder / name).is_file():
            raise ConfigError(f"reader {folder} lacks {name}")
    return config


def load_reader(spec: str | os.PathLike[str] | None = None) -> Reader:
    """The reader named by `spec`: None (or "default") for the packaged one, a folder written by
    `qa train-reader`, or any sentence-transformers CrossEncoder folder or model id."""
    if spec is None or str(spec) in ("", "default"):
        return _packaged()
    path = Path(spec).expanduser()
    if (path / CONFIG_FILE).is_file():
        return OnnxReader(path)
    return CrossEncoderReader(str(spec))


def load_calibration(reader: Reader, index_location: str | os.PathLike[str] | None = None) -> Calibration:
    """The reader's calibration: the index's own (`qa calibrate`, fitted for this reader), else the one the reader
    was shipped with; a reader nobody calibrated gets sigmoid(logit) and threshold 0.5, with a warning."""
    from qa.stores import side_folder

    folder = side_folder(index_location) if index_location is not None else None
    if folder is not None and (folder / INDEX_DIR / CALIBRATION_FILE).is_file():
        calibration = Calibration.read(folder / INDEX_DIR / CALIBRATION_FILE)
        if calibration.fitted_on.get("reader") == reader.name:
            return calibration
        log.warning("%s was fitted for the reader %s, not %s: ignored", folder / INDEX_DIR / CALIBRATION_FILE,
                    calibration.fitted_on.get("reader"), reader.name)
    if reader.config.get("calibration"):
        return Calibration.from_dict(reader.config["calibration"])
    log.warning("the reader %s has no calibration: its probabilities are sigmoid(logit) and the threshold 0.5 until "
                "you fit one with `qa calibrate QUESTIONS --index DIR`", reader.name)
    return Calibration()


def ship_calibration(reader: Reader, calibration: Calibration) -> Path:
    """Write the calibration into a reader folder's reader.json (the packaged reader's, for `qa calibrate --ship`)."""
    folder = getattr(reader, "folder", None)
    if folder is None:
        raise ConfigError(f"the reader {reader.name} is not a reader folder: its calibration can only be kept in an index")
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    config["calibration"] = calibration.to_dict()
    tmp = folder / (CONFIG_FILE + ".tmp")
    tmp.write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, folder / CONFIG_FILE)
    return folder / CONFIG_FILE


@lru_cache(maxsize=1)
def _packaged() -> OnnxReader:
    if not (PACKAGED_READER / CONFIG_FILE).is_file():
        raise ConfigError(f"the packaged answer reader is missing from {PACKAGED_READER}; reinstall article-qa "
                          "or train one with `qa train-reader`")
    return OnnxReader(PACKAGED_READER)


def best_span(encoded: Encoded, start: np.ndarray, end: np.ndarray) -> tuple[int, int] | None:
    """The highest-scoring (start, end) token span inside the candidate sentence, as characters of the sentence."""
    first, stop = encoded.sentence
    if stop <= first or not encoded.offsets:
        return None
    s = np.asarray(start[first:stop], dtype=np.float64)
    e = np.asarray(end[first:stop], dtype=np.float64)
    n = len(s)
    total = s[:, None] + e[None, :]
    allowed = np.triu(np.ones((n, n), dtype=bool)) & ~np.triu(np.ones((n, n), dtype=bool), MAX_SPAN_TOKENS)
    total[~allowed] = -np.inf
    i, j = np.unravel_index(int(np.argmax(total)), total.shape)
    return encoded.offsets[i][0], encoded.offsets[j][1]


def _groups(encoded: Sequence[Encoded]) -> list[list[int]]:
    """Pairs sorted by length and cut into runs of similar length (each run padded to its longest)."""
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i].ids))
    out: list[list[int]] = []
    for i in order:
        if out and len(encoded[i].ids) * (len(out[-1]) + 1) <= BATCH_TOKENS and len(encoded[i].ids) - len(encoded[out[-1][0]].ids) <= 8:
            out[-1].append(i)
        else:
            out.append([i])
    return out


def _threads() -> int:
    """The encoders' thread setting (`set_threads`, `app.py --threads`); 0 there means one per core."""
    return encoder_threads() or os.cpu_count() or 1


@lru_cache(maxsize=4)
def _session(file: str, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # as the encoder's: no starved searches
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    log.info("loading the answer reader %s (%d threads)", file, threads)
    return ort.InferenceSession(file, options, providers=["CPUExecutionProvider"])
