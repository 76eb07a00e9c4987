"""`qa ingest --ray`: a local Ray (num_cpus=2) encodes with an actor pool; a killed actor's batch is retried exactly once."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray")

import fakes  # noqa: E402
from fakes import FakeEncoder  # noqa: E402

from qa.ingest import ingest  # noqa: E402
from qa.ray_ingest import ray_ingest  # noqa: E402
from qa.stores import open_index  # noqa: E402
from qa.types import Article  # noqa: E402

pytestmark = pytest.mark.ray

TOPICS = ["ferry", "budget", "flood", "cup", "harbour", "museum", "telescope", "election"]
ARTICLES = [Article(f"a{i}", " ".join(f"Sentence {j} of the {TOPICS[i % 8]} story number {i} says something new."
                                       for j in range(12)), title=f"{TOPICS[i % 8].title()} story {i}")
            for i in range(40)]


class DiesOnce(FakeEncoder):
    """The fake encoder, except that the first actor to encode a batch kills its own process (once per marker)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def encode(self, texts, **kw):  # type: ignore[no-untyped-def]
        if not os.path.exists(self.marker):
            Path(self.marker).write_text(str(os.getpid()))
            os._exit(1)  # a real death: Ray restarts the actor and retries the batch
        return super().encode(texts, **kw)


@pytest.fixture(scope="module")
def local_ray():
    import ray
    import ray.cloudpickle

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import tests/
    ray.cloudpickle.register_pickle_by_value(fakes)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(params=["local", pytest.param("milvus-server", marks=pytest.mark.milvus)])
def target(request, tmp_path):
    """Where the Ray ingest writes: a local folder (vectors return to the driver), or a collection on a
    milvus-lite server on 127.0.0.1 (the actors upsert the chunk rows themselves)."""
    if request.param == "local":
        yield tmp_path / "ray"
        return
    pytest.importorskip("pymilvus")
    from milvus_server import LiteServer

    server = LiteServer(tmp_path / "milvus")
    yield server.uri("news")
    server.stop()


def test_a_killed_actor_loses_and_duplicates_nothing_and_vectors_match_a_local_ingest(local_ray, target, tmp_path):
    marker = tmp_path / "died"
    report = ray_ingest(ARTICLES, target, factory=functools.partial(DiesOnce, str(marker)), actors=2,
                        batch_articles=25)
    assert marker.exists(), "no actor was killed"
    local = ingest(ARTICLES, tmp_path / "local", encoder=FakeEncoder())
    assert report.summary() == local.summary() and report.chunks > len(ARTICLES)
    ray_reader, local_reader = open_index(target).reader(), open_index(tmp_path / "local").reader()
    assert ray_reader.count() == local_reader.count() == report.chunks  # every chunk once
    for article in ARTICLES[::7]:
        ids = ray_reader.article_chunks([article.id])[article.id]
        expected = local_reader.vectors(local_reader.article_chunks([article.id])[article.id])
        assert np.allclose(ray_reader.vectors(ids), expected, atol=1e-6)
    assert len(list(ray_reader.iter_chunks())) == report.chunks
    again = ray_ingest(ARTICLES, target, factory=FakeEncoder)  # the second run encodes nothing
    assert len(again.unchanged) == len(ARTICLES) and again.chunks == 0
