"""Encoders: the ONNX backends give the torch model's vectors, cache their export, and refuse what they cannot run."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from qa.encoders import load_encoder, load_sentence_transformer, packaged_model_path
from qa.errors import ConfigError, StoreError
from qa.ingest import ingest, open_encoder
from qa.retrieval import Retriever
from qa.types import Article

pytestmark = pytest.mark.slow

TEXTS = [
    "Putin rejected the ceasefire proposal on Tuesday.",
    "The central bank raised interest rates by half a point.",
    "Heavy rain flooded the streets of the old town overnight, and the river burst its banks. " * 12,
    "ok",
]


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    return load_encoder(backend="torch").encode(TEXTS)


@pytest.mark.parametrize(("backend", "floor", "mean"), [("onnx", 0.9999, 0.9999), ("onnx-int8", 0.95, 0.98)])
def test_onnx_backends_reproduce_torch_vectors(backend, floor, mean, torch_vectors):
    encoder = load_encoder(backend=backend)
    vectors = encoder.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosine = np.sum(vectors * torch_vectors, axis=1)
    assert cosine.min() > floor and cosine.mean() > mean
    assert encoder.count_tokens(TEXTS) == load_encoder(backend="torch").count_tokens(TEXTS)
    # batching and order do not change a text's vector; int8's activation scales are set per batch
    single = np.stack([encoder.encode([t])[0] for t in reversed(TEXTS)])[::-1]
    assert np.sum(single * vectors, axis=1).min() > (0.9999 if backend == "onnx" else 0.95)


def test_bulk_encoding_on_parallel_runs_gives_the_same_vectors():
    """Many batches run one per core at once; each batch is the same as one after another on one session."""
    from qa.encoders import set_threads

    texts = [f"{t} Item {i}." for i in range(9) for t in TEXTS]  # 36 texts, 5 batches of 8
    parallel = load_encoder(backend="onnx-int8")
    assert parallel._workers >= 1
    import torch

    torch_threads = torch.get_num_threads()
    set_threads(1)
    try:
        serial = load_encoder(backend="onnx-int8")
    finally:
        set_threads(0)
        torch.set_num_threads(torch_threads)
    assert serial._workers == 1
    one_by_one = serial.encode(texts, batch_size=8)
    together = parallel.encode(texts, batch_size=8, progress=True)
    assert together.shape == (36, 384) and np.allclose(together, one_by_one, atol=1e-5)


def test_export_is_cached_and_reused(tmp_path):
    from qa.encoders.onnx import OnnxEncoder

    first = OnnxEncoder(packaged_model_path(), quantize=True, cache_dir=tmp_path)
    [folder] = (tmp_path / "onnx").iterdir()
    config = json.loads((folder / "encoder.json").read_text())
    assert config["pooling"] == "mean" and config["dimension"] == 384 and config["quantized"] is True
    stamp = (folder / "model.onnx").stat().st_mtime_ns
    second = OnnxEncoder(packaged_model_path(), quantize=True, cache_dir=tmp_path)
    assert (folder / "model.onnx").stat().st_mtime_ns == stamp
    assert np.allclose(first.encode(TEXTS[:2]), second.encode(TEXTS[:2]))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".export-")]  # no leftovers


def test_unsupported_model_and_backend_are_clear_errors(tmp_path):
    from sentence_transformers import SentenceTransformer, models

    from qa.encoders.onnx import OnnxEncoder

    base = load_sentence_transformer(packaged_model_path())
    with_dense = SentenceTransformer(modules=[base[0], base[1], models.Dense(384, 8)])
    with_dense.save(str(tmp_path / "dense-model"))
    with pytest.raises(ConfigError, match="--backend torch"):
        OnnxEncoder(str(tmp_path / "dense-model"), cache_dir=tmp_path / "cache")
    with pytest.raises(ConfigError, match="backend must be one of"):
        load_encoder(backend="tensorrt")


def test_index_records_its_backend(minilm, tmp_path, caplog):
    index = tmp_path / "index"
    ingest([Article(id="a", text="Putin rejected the ceasefire proposal on Tuesday.", title="Talks")], index, encoder=minilm)
    assert json.loads((index / "manifest.json").read_text())["backend"] == minilm.backend
    assert open_encoder(index).backend == minilm.backend
    other = "torch" if minilm.backend != "torch" else "onnx"
    with pytest.raises(StoreError, match="backend"):
        open_encoder(index, backend=other)
    with pytest.raises(StoreError, match="backend"):
        ingest([Article(id="b", text="More news.")], index, encoder=load_encoder(backend=other))
    with caplog.at_level(logging.WARNING):
        hits = Retriever.load(index, encoder=load_encoder(backend=other)).search("what did Putin reject?")
    assert hits and hits[0].article_id == "a" and "backend" in caplog.text


def test_a_questions_sentence_vectors_do_not_depend_on_what_they_are_asked_with():
    """At question time an ONNX encoder encodes each new sentence on its own (int8 activations are scaled per
    batch, so a padded batch would move a sentence's vector with its neighbours); queries still go through the
    query memo, sentences do not fill it."""
    from qa.answerers.sentence_cache import QueryMemo, encode_few

    encoder = QueryMemo(load_encoder(backend="onnx-int8"))
    _, alone = encode_few(encoder, ["what is the key condition"], [TEXTS[0]])
    queries, among = encode_few(encoder, ["what is the key condition"], [TEXTS[3], TEXTS[0], TEXTS[2]])
    assert np.array_equal(alone[0], among[1]) and among.shape == (3, 384)
    assert np.array_equal(queries[0], encoder.encode(["what is the key condition"])[0])
    assert TEXTS[0] not in encoder._memo and "what is the key condition" in encoder._memo
    torch = QueryMemo(load_encoder(backend="torch"))
    q, s = encode_few(torch, ["what is the key condition"], [TEXTS[0], TEXTS[1]])
    assert q.shape == (1, 384) and s.shape == (2, 384) and float(s[0] @ alone[0]) > 0.95
