"""Dense, BM25 and hybrid search over a small real index: sync with add/replace/remove, filters, diversity."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from qa.errors import ConfigError
from qa.ingest import ingest, remove
from qa.retrieval import MODES, Retriever, SearchSettings
from qa.types import Article, SearchFilter

FILLER = "The council met on Tuesday and published the minutes later that week."


def corpus() -> list[Article]:
    return [
        Article("zep", "A zeppelin floated over the harbour at dawn. The airship carried twelve passengers. " + FILLER,
                title="Airship over the harbour", url="https://skies.example/zep", published="2024-01-05", source="skies.example"),
        Article("rail", "Train drivers called off the strike after a pay offer. Services run normally on Monday.",
                title="Rail strike off", url="https://rail.example/strike", published="2024-02-10", source="rail.example"),
        Article("vol", "A volcano erupted near the fishing village. Ash rose five kilometres into the sky.",
                title="Volcano erupts", url="https://geo.example/vol", published="2024-03-15", source="geo.example"),
        Article("mayor", "The mayor won a second term with 58 percent of the vote. Turnout was high.",
                title="Mayor re-elected", url="https://city.example/mayor", published="2024-04-20", source="city.example"),
        Article("long", " ".join(f"Harbour report part {i}: the harbour cranes moved {i} containers of grain." for i in range(40)),
                title="Harbour logistics", url="https://port.example/long", published="2024-05-01", source="port.example"),
    ]


@pytest.fixture
def index(tmp_path: Path, fake_encoder) -> Path:
    directory = tmp_path / "index"
    ingest(corpus(), directory, encoder=fake_encoder)
    return directory


def texts(hits) -> str:
    return " ".join(h.text for h in hits).lower()


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_finds_the_article(index: Path, fake_encoder, mode: str):
    r = Retriever.load(index, encoder=fake_encoder)
    hits = r.search("volcano erupted ash village", 3, mode=mode)
    assert hits[0].article_id == "vol"
    assert hits[0].text in corpus()[2].text
    assert corpus()[2].text[hits[0].start : hits[0].end] == hits[0].text
    assert hits[0].title == "Volcano erupts" and hits[0].url == "https://geo.example/vol"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
def test_replaced_and_removed_text_never_comes_back(index: Path, fake_encoder, mode: str):
    r = Retriever.load(index, encoder=fake_encoder)
    assert "zeppelin" in texts(r.search("zeppelin", 5, mode=mode))

    changed = Article("zep", "A submarine surfaced in the harbour at dawn. " + FILLER, title="Submarine in the harbour",
                      url="https://skies.example/zep", published="2024-01-05", source="skies.example")
    report = ingest([changed], index, encoder=fake_encoder)
    assert report.replaced == ["zep"]
    for retriever in (r, Retriever.load(index, encoder=fake_encoder)):
        if retriever is r:
            retriever.reload()
        old = retriever.search("zeppelin airship passengers", 10, mode=mode, per_article=0)
        assert "zeppelin" not in texts(old) and "airship carried" not in texts(old)
        assert retriever.search("submarine", 3, mode=mode)[0].article_id == "zep"
        assert "Submarine" in retriever.search("submarine", 3, mode=mode)[0].title

    assert remove(["https://skies.example/zep"], index) == []
    r.reload()
    for query in ("submarine surfaced", "zeppelin airship"):
        hits = r.search(query, 10, mode=mode, per_article=0)
        assert all(h.article_id != "zep" for h in hits)
        assert "submarine" not in texts(hits) and "zeppelin" not in texts(hits)


def test_added_articles_are_searchable_by_keyword(index: Path, fake_encoder):
    r = Retriever.load(index, encoder=fake_encoder)
    assert r.search("quokka", 5, mode="bm25") == []
    version = r.version
    ingest([Article("quokka", "A quokka was spotted on the island ferry.", title="Island visitor")], index, encoder=fake_encoder)
    # no reload: the next search notices the newer commit and switches to it
    assert [h.article_id for h in r.search("quokka", 5, mode="bm25")] == ["quokka"]
    assert r.search("quokka", 5, mode="hybrid")[0].article_id == "quokka"
    assert r.version > version and r.stats()["articles"] == len(corpus()) + 1
    assert r.refresh() is False  # nothing newer


def test_a_pinned_retriever_keeps_its_snapshot_until_refreshed(index: Path, fake_encoder):
    r = Retriever.load(index, encoder=fake_encoder, auto_refresh=False)
    hit = r.search("volcano erupted", 1)[0]
    changed = Article("vol", "Lava closed the coastal road overnight.", title="Volcano erupts", url="https://geo.example/vol")
    ingest([changed], index, encoder=fake_encoder)
    assert r.search("volcano erupted", 1)[0].text == hit.text  # the old snapshot, whole and consistent
    assert r.article("vol").text.startswith("A volcano erupted")
    assert r.article("vol", chunk_id=hit.chunk_id).text[hit.start : hit.end] == hit.text
    assert r.refresh() is True
    assert r.article("vol").text == changed.text
    assert r.article("vol", chunk_id=hit.chunk_id).text[hit.start : hit.end] == hit.text  # that hit's revision


@pytest.mark.parametrize("mode", MODES)
def test_filters_restrict_every_mode(index: Path, fake_encoder, mode: str):
    r = Retriever.load(index, encoder=fake_encoder)
    query = "harbour"
    by_source = r.search(query, 10, mode=mode, per_article=0, filter=SearchFilter(sources=("skies.example",)))
    assert by_source and {h.article_id for h in by_source} == {"zep"}
    dated = r.search(query + " volcano strike mayor", 10, mode=mode, filter=SearchFilter(since="2024-02-01", until="2024-04-30"))
    assert dated and {h.article_id for h in dated} <= {"rail", "vol", "mayor"}
    by_id = r.search(query, 10, mode=mode, filter=SearchFilter(article_ids=("long", "mayor")))
    assert by_id and {h.article_id for h in by_id} <= {"long", "mayor"}
    by_url = r.search(query, 10, mode=mode, filter=SearchFilter(article_ids=("http://www.skies.example/zep/",)))
    assert by_url and {h.article_id for h in by_url} == {"zep"}  # a URL, written a little differently, names its article
    assert r.search(query, 10, mode=mode, filter=SearchFilter(sources=("nowhere.example",))) == []


def test_per_article_cap_spreads_the_results(index: Path, fake_encoder):
    r = Retriever.load(index, encoder=fake_encoder)
    capped = r.search("harbour cranes containers", 5, mode="hybrid", per_article=2)
    assert sum(h.article_id == "long" for h in capped) == 2
    assert len({h.article_id for h in capped}) >= 3
    uncapped = r.search("harbour cranes containers", 5, mode="bm25", per_article=0)
    assert [h.article_id for h in uncapped] == ["long"] * 5


def test_article_evidence_lifts_passages_of_the_matching_article(index: Path, fake_encoder):
    r = Retriever.load(index, encoder=fake_encoder)
    hits = r.search("harbour grain containers cranes report", 3, mode="bm25", per_article=1)
    assert hits[0].article_id == "long"
    alone = r.search("harbour grain containers cranes report", 3, mode="bm25", per_article=1, article_weight=0.0)
    assert alone[0].article_id == "long"  # both agree here; the setting is accepted and changes only scores
    assert [round(h.score, 6) for h in hits] != [round(h.score, 6) for h in alone]


def test_bad_settings_and_queries_are_clear_errors(index: Path, fake_encoder):
    r = Retriever.load(index, encoder=fake_encoder)
    with pytest.raises(ConfigError, match="mode must be one of dense, bm25, hybrid, got 'fuzzy'"):
        r.search("volcano", mode="fuzzy")
    with pytest.raises(ConfigError, match="fusion must be one of rrf, weighted"):
        SearchSettings(fusion="max")
    with pytest.raises(ConfigError, match="article_weight must be between 0 and 1, got 1.5"):
        SearchSettings(article_weight=1.5)
    with pytest.raises(ConfigError, match="question is empty"):
        r.search("   ")


def test_search_is_search_batch_of_one(index: Path, fake_encoder):
    r = Retriever.load(index, encoder=fake_encoder, k=3)
    batch = r.search_batch(["volcano ash", "mayor vote"])
    assert batch[0] == r.search("volcano ash") and batch[1] == r.search("mayor vote")
    assert len(batch[0]) == 3


def test_empty_index_returns_nothing(tmp_path: Path, fake_encoder):
    directory = tmp_path / "empty"
    ingest([Article("gone", "Short lived text about kites.")], directory, encoder=fake_encoder)
    remove(["gone"], directory)
    r = Retriever.load(directory, encoder=fake_encoder)
    for mode in MODES:
        assert r.search("kites", mode=mode) == []


def test_one_retriever_serves_many_threads_while_writes_land(index: Path, fake_encoder):
    r = Retriever.load(index, encoder=fake_encoder)
    errors: list[BaseException] = []
    stop = threading.Event()
    seen: set[str] = set()

    def ask() -> None:
        try:
            while not stop.is_set():
                for hit in r.search("harbour island ferry quokka", 5, mode="hybrid"):
                    article = r.article(hit.article_id, chunk_id=hit.chunk_id)  # the revision this hit came from
                    assert article is not None and article.text[hit.start : hit.end] == hit.text
                    seen.add(hit.article_id)
                time.sleep(0.005)  # (leave the writer some of the GIL)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(4):  # adds and a replace while the threads search
        ingest([Article(f"isle{i}", f"A quokka crossed to the island harbour on ferry number {i}.", title="Island")],
               index, encoder=fake_encoder)
    ingest([Article("isle0", "The island harbour ferry was replaced by a bridge.", title="Island")], index, encoder=fake_encoder)
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join(10)
    assert not errors, errors[0]
    assert {"isle1", "isle2", "isle3"} <= seen
    assert r.search("bridge replaced ferry", 1, mode="bm25")[0].article_id == "isle0"


class CountingReader:
    """A reader that counts its `count` calls (everything else is the real reader's)."""

    def __init__(self, reader) -> None:
        self._reader, self.counts = reader, 0

    def count(self, *args, **kwargs):
        self.counts += 1
        return self._reader.count(*args, **kwargs)

    def reopen(self):
        fresh = self._reader.reopen()
        return None if fresh is None else CountingReader(fresh)

    def __getattr__(self, name):
        return getattr(self._reader, name)


def test_the_chunk_count_is_asked_once_per_content_version_and_filter(index, fake_encoder):
    from qa.stores import open_index

    reader = CountingReader(open_index(index).reader())
    retriever = Retriever(reader, fake_encoder)
    only = SearchFilter(sources=("geo.example",))
    for _ in range(3):
        retriever.search("volcano ash", 2)
        retriever.search("volcano ash", 2, filter=only)
    assert reader.counts == 2  # once unfiltered, once with the filter
    ingest([Article("new", "A new volcano erupted in the south.", title="Second volcano")], index, encoder=fake_encoder)
    assert retriever.search("volcano", 5)  # refreshed: a new version, counted again
    assert retriever.reader.counts == 1 and not retriever.is_empty()
