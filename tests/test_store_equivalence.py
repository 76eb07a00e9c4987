"""Property: after any adds, replaces, removes and merges, the index answers as a freshly built one does.

Compared on every mode, top 10 by (article id, chunk index), scores within 1e-6: before `qa optimize`
(BM25 statistics count only live documents, so unmerged deletes do not move scores) and after it.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes import FakeEncoder
from qa.ingest import ingest, remove
from qa.retrieval import MODES, Retriever
from qa.stores import open_index
from qa.stores.local import merging
from qa.types import Article

WORDS = ("harbour ferry council budget flood striker cup final volcano ash mayor vote island storm bridge market "
         "school river train strike").split()
ENCODER = FakeEncoder()

sentence = st.lists(st.sampled_from(WORDS), min_size=3, max_size=14).map(lambda ws: " ".join(ws).capitalize() + ".")
text = st.lists(sentence, min_size=1, max_size=12).map(" ".join)
put = st.tuples(st.just("put"), st.lists(st.tuples(st.integers(0, 6), text), min_size=1, max_size=3))
drop = st.tuples(st.just("remove"), st.lists(st.integers(0, 6), min_size=1, max_size=2))
merge = st.tuples(st.just("maintain"), st.just(None))
history = st.lists(st.one_of(put, put, drop, merge), min_size=1, max_size=10)
queries = st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join), min_size=2, max_size=4)


def ranked(index: Path, query: str, mode: str) -> list[tuple[tuple[str, int], float]]:
    retriever = Retriever.load(index, encoder=ENCODER)
    hits = retriever.search(query, 10, mode=mode, per_article=0)
    index_of = {}
    for h in hits:
        rows = retriever.reader.chunks([h.chunk_id])
        index_of[h.chunk_id] = rows[h.chunk_id].chunk.index
    retriever.close()
    return [((h.article_id, index_of[h.chunk_id]), h.score) for h in hits]


def assert_same(a: Path, b: Path, qs: list[str]) -> None:
    for query in qs:
        for mode in MODES:
            x, y = ranked(a, query, mode), ranked(b, query, mode)
            assert [k for k, _ in x] == [k for k, _ in y], (query, mode, x, y)
            assert all(abs(s - t) <= 1e-6 for (_, s), (_, t) in zip(x, y)), (query, mode, x, y)


@contextmanager
def small_merges() -> Iterator[None]:
    """Merges within a few writes (three segments of any size merge), so histories cross them."""
    old = merging.MERGE_FACTOR, merging.FLOOR
    merging.MERGE_FACTOR, merging.FLOOR = 3, 1
    try:
        yield
    finally:
        merging.MERGE_FACTOR, merging.FLOOR = old


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=history, qs=queries)
def test_any_history_then_optimize_equals_a_fresh_build(tmp_path_factory, history, qs):
    tmp = tmp_path_factory.mktemp("history")
    live, fresh = tmp / "live", tmp / "fresh"
    with small_merges():
        ingest([Article("seed", "The seed article about the harbour ferry.")], live, encoder=ENCODER)
        for op, arg in history:
            if op == "put":
                ingest([Article(f"a{slot}", body, title=f"Title {slot}") for slot, body in arg], live, encoder=ENCODER)
            elif op == "remove":
                remove([f"a{slot}" for slot in arg], live)
            else:
                open_index(live).maintain()
    survivors = open_index(live).reader().articles()  # in the order they were last stored
    ingest(survivors, fresh, encoder=ENCODER)
    assert_same(live, fresh, qs)  # unmerged: tombstones and several segments
    open_index(live).optimize()
    assert open_index(live).reader().stats()["segments"] == 1
    assert_same(live, fresh, qs)
