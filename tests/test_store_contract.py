"""The store contract: what every backend (IndexStore, IndexWriter, IndexReader) must do. A new backend is one fixture.

To run the suite on another backend, add a fixture that returns a function `make(name="index")`
opening an IndexStore (empty until written; one per name), starting whatever server it needs on
127.0.0.1, and add its name to BACKENDS. A backend whose readers read live rather than a snapshot
(Milvus) is listed in LIVE_READERS: the snapshot assertions are skipped for it; one whose BM25
statistics still count deleted rows (Milvus) in APPROXIMATE_STATISTICS: it must find the same documents
and the same best one whatever the write history, with scores that may differ.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from fakes import FakeEncoder
from qa.errors import StoreError
from qa.stores import IndexStore, Manifest, open_index
from qa.types import Article, Chunk, SearchFilter

BACKENDS = ["local_store", pytest.param("milvus_lite_store", marks=pytest.mark.milvus),
            pytest.param("milvus_server_store", marks=pytest.mark.milvus),
            pytest.param("milvus25_server_store", marks=pytest.mark.milvus)]
MILVUS = {"milvus_lite_store", "milvus_server_store", "milvus25_server_store"}
LIVE_READERS = MILVUS  # readers see the newest committed rows, not the state they opened at
# BM25 statistics still count deleted rows until the engine compacts them (Milvus's per-segment IDF)
APPROXIMATE_STATISTICS = MILVUS
ENCODER = FakeEncoder()
MANIFEST = Manifest(ENCODER.name, ENCODER.dimension, {"max_tokens": 128, "overlap_tokens": 16})

ARTICLES = [
    Article("ferry", "The harbour ferry runs every hour. Tickets cost two euros.", title="Ferry timetable",
            url="https://quay.example/ferry", published="2024-03-01", source="quay.example"),
    Article("budget", "The council approved a budget for flood defences. Critics said it was too small.",
            title="Budget approved", url="https://quay.example/budget", published="2024-02-10", source="quay.example"),
    Article("cup", "The striker scored twice as the home side won the cup final.", title="Cup final",
            url="https://sport.example/cup", published="2023-12-20", source="sport.example"),
    Article("flood", "Flood water closed the harbour road. The ferry was cancelled.", title="Flood closes road",
            url="https://news.example/flood", published="2024-03-05", source="news.example"),
]


@pytest.fixture
def local_store(tmp_path: Path) -> Callable[..., IndexStore]:
    return lambda name="index": open_index(tmp_path / name)


@pytest.fixture
def milvus_lite_store(tmp_path: Path) -> Callable[..., IndexStore]:
    pytest.importorskip("pymilvus")
    pytest.importorskip("milvus_lite")
    return lambda name="index": open_index(f"milvus:{tmp_path / name}.db")


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory: pytest.TempPathFactory):
    """One milvus-lite gRPC server on 127.0.0.1 for the module (each test uses its own collections)."""
    pytest.importorskip("pymilvus")
    pytest.importorskip("milvus_lite")
    from milvus_server import LiteServer

    server = LiteServer(tmp_path_factory.mktemp("milvus-server"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def milvus25_server(tmp_path_factory: pytest.TempPathFactory):
    """The milvus-lite 2.5.1 binary (the Milvus 2.5 C++ engine) on 127.0.0.1 for the module."""
    pytest.importorskip("pymilvus")
    from milvus_server import LITE25_ENV, Lite25Server, lite25_folder

    folder = lite25_folder()
    if folder is None:
        pytest.skip(f"milvus-lite 2.5.1 is not installed in .venv/milvus-lite-2.5.1 (`make install` puts it there) "
                    f"or at ${LITE25_ENV}")
    server = Lite25Server(tmp_path_factory.mktemp("milvus25"), folder)
    yield server
    server.stop()


@pytest.fixture
def milvus25_server_store(milvus25_server, request: pytest.FixtureRequest) -> Callable[..., IndexStore]:
    test = "".join(ch if ch.isalnum() else "_" for ch in request.node.name)[:60]
    return lambda name="index": open_index(milvus25_server.uri(f"t_{test}_{name}"))


@pytest.fixture
def milvus_server_store(milvus_server, request: pytest.FixtureRequest) -> Callable[..., IndexStore]:
    test = "".join(ch if ch.isalnum() else "_" for ch in request.node.name)[:60]
    return lambda name="index": open_index(milvus_server.uri(f"t_{test}_{name}"))


# the server form shares every line with the milvus-lite file but the transport: it runs the tests where
# the transport matters (creation, rows, filters, reopening after another client's write, threads), to keep CI lean
SERVER_TESTS = {"test_a_new_store_is_created_by_its_first_write", "test_rows_round_trip_with_exact_offsets_and_vectors",
                "test_filters_restrict_every_search", "test_a_reader_is_a_snapshot_and_reopen_moves_it_forward",
                "test_replace_and_remove_leave_no_trace", "test_readers_are_safe_to_share_between_threads"}


@pytest.fixture(params=BACKENDS)
def new_store(request: pytest.FixtureRequest) -> Callable[..., IndexStore]:
    if request.param == "milvus_server_store" and request.function.__name__ not in SERVER_TESTS:
        pytest.skip("run on the milvus-lite file (the same code but the transport)")
    make = request.getfixturevalue(request.param)
    make.snapshots = request.param not in LIVE_READERS
    make.exact_statistics = request.param not in APPROXIMATE_STATISTICS
    return make


def chunks_of(article: Article) -> list[Chunk]:
    """Sentences as chunks, with exact offsets."""
    out, start = [], 0
    for i, sentence in enumerate(s for s in article.text.split(". ") if s):
        at = article.text.index(sentence, start)
        out.append(Chunk(article.id, i, at, at + len(sentence), sentence))
        start = at + len(sentence)
    return out


def same(a: list[tuple], b: list[tuple]) -> bool:
    """The same ids in the same order, scores within 1e-6."""
    return [x for x, _ in a] == [x for x, _ in b] and bool(np.allclose([s for _, s in a], [s for _, s in b], atol=1e-6))


def put(writer, article: Article) -> None:
    chunks = chunks_of(article)
    writer.put(article, chunks, ENCODER.encode([f"{article.title}\n{c.text}" for c in chunks]))


def filled(new_store: Callable[[], IndexStore], articles=ARTICLES) -> IndexStore:
    store = new_store()
    with store.writer(MANIFEST) as w:
        for a in articles:
            put(w, a)
    return store


def test_a_new_store_is_created_by_its_first_write(new_store):
    store = new_store()
    assert not store.exists()
    with pytest.raises(StoreError):
        store.manifest()
    writer = store.writer(MANIFEST)
    assert writer.commit() is False  # nothing to write
    store = filled(new_store)
    assert store.exists() and store.manifest().same_build(MANIFEST)
    assert store.reader().count() == sum(len(chunks_of(a)) for a in ARTICLES)


def test_rows_round_trip_with_exact_offsets_and_vectors(new_store):
    reader = filled(new_store).reader()
    assert sorted(a.id for a in reader.articles()) == sorted(a.id for a in ARTICLES)
    assert reader.article("ferry") == ARTICLES[0]
    by_article = reader.article_chunks(["ferry", "cup", "nope"])
    assert set(by_article) == {"ferry", "cup"} and len(by_article["ferry"]) == 2
    rows = reader.chunks(by_article["ferry"])
    for i, chunk_id in enumerate(by_article["ferry"]):
        c = rows[chunk_id].chunk
        assert c.index == i and ARTICLES[0].text[c.start : c.end] == c.text
        assert rows[chunk_id].title == "Ferry timetable" and rows[chunk_id].url == "https://quay.example/ferry"
    assert reader.chunk_articles(by_article["cup"]) == dict.fromkeys(by_article["cup"], "cup")
    expected = ENCODER.encode([f"Ferry timetable\n{rows[i].chunk.text}" for i in by_article["ferry"]])
    assert np.allclose(reader.vectors(by_article["ferry"]), expected, atol=1e-6)
    assert len(list(reader.iter_chunks())) == reader.count() == reader.stats()["chunks"]
    assert reader.stats()["articles"] == len(ARTICLES)


def test_searches_find_the_right_chunks_and_articles(new_store):
    reader = filled(new_store).reader()
    ferry = reader.article_chunks(["ferry"])["ferry"]
    [[(best, score), *_]] = reader.search_dense(reader.vectors(ferry[:1]), 3)
    assert best == ferry[0] and score == pytest.approx(1.0, abs=1e-5)
    found = reader.search_keywords("tickets euros", 3)
    assert found[0][0] == ferry[1] and all(s > 0 for _, s in found)
    assert reader.search_articles("striker cup final", 2)[0][0] == "cup"
    assert reader.search_keywords("zeppelin", 5) == [] and reader.search_articles("zeppelin", 5) == []


def test_filters_restrict_every_search(new_store):
    reader = filled(new_store).reader()
    query = reader.vectors(reader.article_chunks(["ferry"])["ferry"][:1])
    cases = {
        SearchFilter(sources=("sport.example",)): {"cup"},
        SearchFilter(since="2024-03-01"): {"ferry", "flood"},
        SearchFilter(until="2024-02-28"): {"budget", "cup"},
        SearchFilter(article_ids=("budget", "http://www.news.example/flood/")): {"budget", "flood"},
    }
    for flt, allowed in cases.items():
        dense = [c for c, _ in reader.search_dense(query, 10, flt)[0]]
        keyword = [c for c, _ in reader.search_keywords("harbour ferry flood budget cup", 10, flt)]
        articles = {a for a, _ in reader.search_articles("harbour ferry flood budget cup", 10, flt)}
        assert set(reader.chunk_articles(dense).values()) == allowed, flt
        assert set(reader.chunk_articles(keyword).values()) <= allowed and articles <= allowed, flt
        assert reader.count(flt) == sum(len(chunks_of(a)) for a in ARTICLES if a.id in allowed)
    nothing = SearchFilter(sources=("nowhere.example",))
    assert reader.count(nothing) == 0 and reader.search_dense(query, 5, nothing) == [[]]


def test_a_reader_is_a_snapshot_and_reopen_moves_it_forward(new_store):
    store = filled(new_store, ARTICLES[:2])
    old = store.reader()
    assert old.reopen() is None
    with store.writer() as w:
        put(w, ARTICLES[2])
        w.remove("budget")
    if new_store.snapshots:
        assert {a.id for a in old.articles()} == {"ferry", "budget"}  # unchanged
        assert old.search_articles("striker cup", 5) == [] and old.article("budget") is not None
    new = old.reopen()
    assert new is not None and new.version != old.version
    assert {a.id for a in new.articles()} == {"ferry", "cup"} and new.article("budget") is None
    assert new.search_articles("striker cup", 5)[0][0] == "cup"
    assert new.reopen() is None


def test_replace_and_remove_leave_no_trace(new_store):
    store = filled(new_store)
    changed = replace(ARTICLES[0], text="A storm stopped every boat. Nobody sailed.")
    with store.writer() as w:
        assert w.stored_hash("ferry") == ARTICLES[0].content_hash
        put(w, changed)
        assert w.stored_hash("ferry") == changed.content_hash  # the write sees its own changes
        assert w.remove("cup") is True and w.remove("cup") is False and w.remove("nope") is False
        assert w.resolve("https://sport.example/cup") is None and w.resolve("https://quay.example/ferry") == "ferry"
    reader = store.reader()
    assert reader.article("ferry") == changed and reader.article("cup") is None
    texts = [reader.chunks([c])[c].chunk.text for c, _ in reader.search_keywords("tickets euros striker storm", 10)]
    assert texts == ["A storm stopped every boat"]
    assert [a for a, _ in reader.search_articles("tickets striker storm", 10)] == ["ferry"]
    assert reader.count() == sum(len(chunks_of(a)) for a in [changed, ARTICLES[1], ARTICLES[3]])


def test_big_writes_land_whole(new_store):
    """A first write bigger than a backend's batch (Milvus upserts every 2,048 chunks as it goes) creates the index;
    a write replacing many articles at once removes every old revision."""
    store = new_store()
    text = " ".join(f"Sentence number {i} is about harbour {i}." for i in range(2100))
    article = Article("big", text, title="Big")
    chunks = [Chunk("big", i, 0, 0, f"chunk {i}") for i in range(2100)]
    with store.writer(MANIFEST) as w:
        w.put(article, chunks, ENCODER.encode([c.text for c in chunks]))
    assert store.exists() and store.reader().count() == 2100
    many = [replace(a, id=f"{a.id}-{i}") for i in range(30) for a in ARTICLES]  # one write replacing many articles
    with store.writer() as w:
        for a in many:
            put(w, a)
    updated = [replace(a, text=a.text + " Updated.") for a in many]
    with store.writer() as w:
        for a in updated:
            put(w, a)
    assert store.reader().count() == 2100 + sum(len(chunks_of(a)) for a in updated)


def test_abort_leaves_nothing(new_store):
    store = filled(new_store)
    before = store.reader()
    writer = store.writer()
    put(writer, Article("new", "Brand new text."))
    writer.remove("ferry")
    writer.abort()
    after = store.reader()
    assert after.version == before.version and {a.id for a in after.articles()} == {a.id for a in ARTICLES}


def test_keyword_statistics_are_corpus_wide_whatever_the_history(new_store, tmp_path):
    """Two stores with the same live articles score the same, however they got there."""
    direct = filled(lambda: new_store("direct"), ARTICLES[1:] + [ARTICLES[0]])
    store = new_store()
    with store.writer(MANIFEST) as w:
        put(w, replace(ARTICLES[0], text="An old text about ferry tickets and euros."))
    for a in ARTICLES[1:]:
        with store.writer() as w:
            put(w, a)
            put(w, Article("tmp", "Temporary ferry ferry euros harbour."))
        with store.writer() as w:
            w.remove("tmp")
    with store.writer() as w:
        put(w, ARTICLES[0])
    for query in ("ferry tickets euros", "harbour flood", "cup final"):
        for search in ("search_keywords", "search_articles"):
            a, b = getattr(direct.reader(), search)(query, 10), getattr(store.reader(), search)(query, 10)
            if search == "search_keywords":
                a = [(direct.reader().chunks([c])[c].chunk.text, s) for c, s in a]
                b = [(store.reader().chunks([c])[c].chunk.text, s) for c, s in b]
            if not new_store.exact_statistics:  # the same documents found, the best one first; scores differ
                assert a[0][0] == b[0][0] and {x for x, _ in a} == {x for x, _ in b}, (search, query)
                continue
            assert [x for x, _ in a] == [x for x, _ in b], (search, query)
            assert np.allclose([s for _, s in a], [s for _, s in b], atol=1e-6), (search, query)
    store.optimize()
    if new_store.exact_statistics:
        assert same(store.reader().search_articles("ferry tickets euros", 10),
                    direct.reader().search_articles("ferry tickets euros", 10))


def test_merges_keep_every_result(new_store):
    store = new_store()
    for i, a in enumerate(ARTICLES * 3):
        with store.writer(MANIFEST) as w:
            put(w, replace(a, id=f"{a.id}-{i}"))
    before = store.reader()
    results = (before.search_keywords("ferry harbour", 20), before.search_articles("ferry cup", 20))
    store.maintain()
    store.optimize()
    after = store.reader()
    assert after.stats().get("segments", 1) == 1  # a backend that reports segments has merged them
    assert same(after.search_keywords("ferry harbour", 20), results[0])
    assert same(after.search_articles("ferry cup", 20), results[1])
    assert same(before.search_keywords("ferry harbour", 20), results[0])  # the old reader still works


def test_another_model_is_refused(new_store):
    store = filled(new_store)
    with pytest.raises(StoreError, match="model"):
        store.writer(replace(MANIFEST, model="other/model", dimension=8))


def test_readers_are_safe_to_share_between_threads(new_store):
    reader = filled(new_store).reader()
    queries = ["ferry tickets", "flood road", "cup final", "budget council"] * 5
    expected = [reader.search_keywords(q, 5) for q in queries]
    vectors = ENCODER.encode(queries)
    dense = reader.search_dense(vectors, 5)
    got: dict[int, tuple] = {}

    def run(i: int) -> None:
        got[i] = (reader.search_keywords(queries[i], 5), reader.search_dense(vectors[i : i + 1], 5)[0],
                  reader.chunks([c for c, _ in expected[i]]))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(queries))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [got[i][0] for i in range(len(queries))] == expected
    assert [got[i][1] for i in range(len(queries))] == dense


@pytest.mark.parametrize("form", ["local_store", pytest.param("milvus_lite_store", marks=pytest.mark.milvus),
                                  pytest.param("milvus25_server_store", marks=pytest.mark.milvus)])
def test_keyword_search_stems_the_same_way_on_every_backend(form, request):
    """Every backend searches qa.lexical's tokens: "ticket" meets "Tickets", "scoring strikers" meets "scored ... striker"."""
    reader = filled(request.getfixturevalue(form)).reader()
    if form != "local_store":
        assert reader.stats()["keyword_search"].startswith("milvus BM25 over qa's own tokens")
    found = [reader.chunks([c])[c].chunk.text for c, _ in reader.search_keywords("ticket costs", 3)]
    assert found[:1] == ["Tickets cost two euros."]
    assert [a for a, _ in reader.search_articles("scoring strikers", 3)] == ["cup"]
    assert reader.search_keywords("what did they do", 3) == []  # stop words only: no keyword to search


@pytest.mark.milvus
@pytest.mark.parametrize("form", ["milvus_lite_store", "milvus_server_store", "milvus25_server_store"])
def test_keyword_scores_are_the_local_index_scores(form, request, tmp_path):
    """On the same articles, written once, each Milvus form gives the local index's BM25 ranking and scores."""
    local = filled(lambda name="index": open_index(tmp_path / name)).reader()
    other = filled(request.getfixturevalue(form)).reader()
    for query in ("ferry tickets", "the harbour ferry was cancelled", "flood defences budget", "cup final striker"):
        want, got = local.search_keywords(query, 10), other.search_keywords(query, 10)
        texts = [[r.chunks([c])[c].chunk.text for c, _ in hits] for r, hits in ((local, want), (other, got))]
        assert texts[1] == texts[0], query  # chunk ids differ by backend: the passages are compared
        assert np.allclose([s for _, s in got], [s for _, s in want], rtol=1e-4), (query, got, want)
        want_a, got_a = local.search_articles(query, 10), other.search_articles(query, 10)
        assert [a for a, _ in got_a] == [a for a, _ in want_a], query
        assert np.allclose([s for _, s in got_a], [s for _, s in want_a], rtol=1e-4), (query, got_a, want_a)
