"""Segment parts: BM25 scores equal bm25s's, the approximate vector index keeps recall, errors are StoreErrors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import bm25s
import numpy as np
import pytest

from fakes import FakeEncoder
from qa.errors import StoreError
from qa.ingest import ingest
from qa.lexical import STOPWORDS, _stemmer, doc_term_ids, term_ids, tokenize
from qa.retrieval import Retriever
from qa.stores import open_index
from qa.stores.local import keywords, merging
from qa.stores.local.arrays import read_arrays, write_arrays
from qa.types import Article

DOCS = [
    "The harbour ferry runs every hour and the ferry is cheap.",
    "Council approves the flood defence budget for the harbour.",
    "The striker scored twice in the cup final.",
    "Volcano ash closed the airport; flights to the island stopped.",
    "The mayor won the vote. Turnout was high in the harbour district.",
    "Ferry workers strike over pay; the harbour is quiet.",
]
QUERIES = ["harbour ferry", "what did the striker score in the final?", "ash island flights", "pay strike ferry ferry"]


def test_tokens_are_bm25s_tokens():
    expected = bm25s.tokenize(DOCS, stopwords=list(STOPWORDS), stemmer=_stemmer().stemWords, return_ids=False,
                              show_progress=False)
    assert tokenize(DOCS) == expected


def test_bm25_scores_equal_bm25s_on_one_segment_and_on_several():
    model = bm25s.BM25()
    model.index(tokenize(DOCS), show_progress=False)
    terms = doc_term_ids(DOCS)
    whole = [keywords.Part(keywords.Postings.build(terms), np.arange(len(DOCS)), np.ones(len(DOCS), bool))]
    split = [keywords.Part(keywords.Postings.build(terms[a:b]), np.arange(a, b), np.ones(b - a, bool))
             for a, b in ((0, 2), (2, 5), (5, 6))]
    total = float(sum(len(t) for t in terms))
    for query in QUERIES:
        tokens = [t for t in tokenize([query])[0] if t in model.vocab_dict]
        docs, scores = model.retrieve([tokens], k=len(DOCS), show_progress=False)
        reference = {int(d): float(s) for d, s in zip(docs[0], scores[0]) if s > 0}
        for parts in (whole, split):
            ours = dict(keywords.search(parts, term_ids(tokenize([query])[0]), len(DOCS), len(DOCS), total))
            assert ours.keys() == reference.keys(), query
            assert all(abs(ours[d] - reference[d]) < 1e-5 for d in ours), query


def test_deleted_documents_do_not_count_in_statistics():
    terms = doc_term_ids(DOCS)
    live = np.ones(len(DOCS), bool)
    live[[0, 5]] = False  # two ferry documents deleted
    part = keywords.Part(keywords.Postings.build(terms), np.arange(len(DOCS)), live)
    kept = [t for t, alive in zip(terms, live) if alive]
    fresh = keywords.Part(keywords.Postings.build(kept), np.flatnonzero(live), np.ones(len(kept), bool))
    n, total = len(kept), float(sum(len(t) for t in kept))
    query = term_ids(tokenize(["harbour ferry"])[0])
    got, expected = keywords.search([part], query, 10, n, total), keywords.search([fresh], query, 10, n, total)
    assert [d for d, _ in got] == [d for d, _ in expected] == [1, 4]
    assert np.allclose([s for _, s in got], [s for _, s in expected], atol=1e-7)


def test_array_files_round_trip_and_refuse_garbage(tmp_path: Path):
    arrays = {"a": np.arange(5, dtype=np.int64), "b": np.ones((3, 4), np.float32), "empty": np.zeros((0, 4), np.float32)}
    write_arrays(tmp_path / "x.seg", arrays, {"note": "hi"})
    back, meta = read_arrays(tmp_path / "x.seg")
    assert meta == {"note": "hi"} and all(np.array_equal(back[k], v) and back[k].dtype == v.dtype for k, v in arrays.items())
    (tmp_path / "bad.seg").write_bytes(b"not a segment")
    with pytest.raises(StoreError, match="not an article-qa segment file"):
        read_arrays(tmp_path / "bad.seg")
    (tmp_path / "cut.seg").write_bytes((tmp_path / "x.seg").read_bytes()[:-100])
    with pytest.raises(StoreError, match="truncated"):
        read_arrays(tmp_path / "cut.seg")
    with pytest.raises(ValueError, match="Python objects"):
        write_arrays(tmp_path / "o.seg", {"o": np.array([object()])})


def corpus(n: int, rng: np.random.Generator) -> list[Article]:
    words = "harbour ferry council budget flood striker cup volcano mayor island storm bridge market river".split()
    return [Article(f"d{i}", " ".join(rng.choice(words, 12)) + f" item{i}.") for i in range(n)]


def test_an_approximate_index_keeps_recall_and_can_be_switched_back(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(merging, "APPROXIMATE_MIN_SEGMENT", 500)  # an IVF index already at this small size
    rng = np.random.default_rng(0)
    index = tmp_path / "index"
    ingest(corpus(3000, rng), index, encoder=FakeEncoder())
    exact = Retriever.load(index, encoder=FakeEncoder(), mode="dense")
    queries = [" ".join(rng.choice("harbour ferry council budget flood striker cup volcano".split(), 3)) for _ in range(30)]
    truth = [[h.chunk_id for h in exact.search(q, 10, per_article=0)] for q in queries]
    report = open_index(index).optimize(vectors="approximate")
    assert report.segments_after == 1
    manifest = json.loads((index / "manifest.json").read_text())
    assert manifest["vectors"]["index"] == "approximate" and list((index / "segments").glob("*.ivf"))
    approximate = Retriever.load(index, encoder=FakeEncoder(), mode="dense")
    assert approximate.stats()["approximate_segments"] == 1
    found = [[h.chunk_id for h in approximate.search(q, 10, per_article=0)] for q in queries]
    recall = np.mean([len(set(t) & set(f)) / len(t) for t, f in zip(truth, found)])
    assert recall >= 0.9
    narrow = approximate.search("harbour", 5, mode="dense", filter=__import__("qa").SearchFilter(article_ids=("d7", "d9")))
    assert {h.article_id for h in narrow} == {"d7", "d9"}  # a narrow filter is searched exactly
    open_index(index).optimize(vectors="exact")
    back = Retriever.load(index, encoder=FakeEncoder(), mode="dense")
    assert back.stats()["approximate_segments"] == 0
    assert [[h.chunk_id for h in back.search(q, 10, per_article=0)] for q in queries] == truth


def test_a_damaged_catalog_or_segment_is_a_plain_store_error(tmp_path: Path):
    index = tmp_path / "index"
    ingest(corpus(5, np.random.default_rng(1)), index, encoder=FakeEncoder())
    [segment] = (index / "segments").glob("*.seg")
    data = segment.read_bytes()
    segment.write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreError, match="truncated"):
        open_index(index).reader()
    segment.write_bytes(data)
    db = sqlite3.connect(index / "catalog.sqlite")
    db.execute("DROP TABLE commits")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="cannot read the index catalog .*no such table: commits"):
        open_index(index).reader()
    (index / "catalog.sqlite").write_bytes(b"garbage" * 1000)
    for name in ("catalog.sqlite-wal", "catalog.sqlite-shm"):
        (index / name).unlink(missing_ok=True)
    with pytest.raises(StoreError, match="catalog"):
        open_index(index).reader()
