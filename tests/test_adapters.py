"""The LangChain and LlamaIndex retrievers, with the real packages: the same passages as Retriever.search, with metadata."""

from __future__ import annotations

import asyncio

import pytest

from answer_corpus import OTHERS, ZELENSKY
from qa.errors import ConfigError, QAError
from qa.ingest import ingest
from qa.retrieval import Retriever
from qa.types import SearchFilter

QUERIES = ["ceasefire energy strikes", "bike lanes council", "new frog species mining", "marathon runners"]
KEYS = {"title", "url", "published", "source", "article_id", "start", "end", "score"}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    path = tmp_path_factory.mktemp("adapters") / "index"
    from fakes import FakeEncoder

    ingest([ZELENSKY, *OTHERS], path, encoder=FakeEncoder())
    return path


@pytest.fixture(scope="module")
def articles():
    return {a.id: a for a in [ZELENSKY, *OTHERS]}


def _expected(index, query, k, **settings):
    flt = settings.pop("filter", None)
    return Retriever.load(index, **settings).search(query, k, filter=flt)


@pytest.mark.parametrize("settings", [{}, {"mode": "bm25"}, {"mode": "dense", "per_article": 0}])
def test_langchain_documents_equal_retriever_search(index, articles, settings):
    pytest.importorskip("langchain_core")
    from langchain_core.retrievers import BaseRetriever

    from qa.integrations.langchain import ArticleRetriever

    lc = ArticleRetriever(index=str(index), k=3, **settings)
    assert isinstance(lc, BaseRetriever)
    for query in QUERIES:
        docs = lc.invoke(query)
        hits = _expected(index, query, 3, **settings)
        assert [(d.page_content, d.metadata["article_id"], d.metadata["start"]) for d in docs] == \
            [(h.text, h.article_id, h.start) for h in hits]
        for d, h in zip(docs, hits):
            assert set(d.metadata) == KEYS and d.metadata["score"] == pytest.approx(h.score)
            article = articles[d.metadata["article_id"]]
            assert article.text[d.metadata["start"]:d.metadata["end"]] == d.page_content
            assert (d.metadata["title"], d.metadata["url"], d.metadata["published"]) == (article.title, article.url, article.published)


def test_langchain_batch_async_filter_and_bad_settings(index):
    pytest.importorskip("langchain_core")
    from qa.integrations.langchain import ArticleRetriever

    flt = SearchFilter(since="2025-01-01")
    lc = ArticleRetriever(index=index, k=5, filter=flt)
    batches = lc.batch(QUERIES[:2])
    assert [[d.id for d in docs] for docs in batches] == [[d.id for d in lc.invoke(q)] for q in QUERIES[:2]]
    assert all(d.metadata["published"] >= "2025-01-01" for docs in batches for d in docs)
    assert [d.id for d in asyncio.run(lc.ainvoke(QUERIES[0]))] == [d.id for d in batches[0]]
    with pytest.raises(ConfigError, match="mode"):
        ArticleRetriever(index=index, mode="fuzzy")
    with pytest.raises(QAError, match="no index"):
        ArticleRetriever(index=index.parent / "missing")
    shared = Retriever.load(index)
    assert ArticleRetriever(retriever=shared, k=2).invoke(QUERIES[1])[0].metadata["article_id"] == "lyon-bikes"


@pytest.mark.parametrize("settings", [{}, {"mode": "bm25"}])
def test_llama_index_nodes_equal_retriever_search(index, articles, settings):
    pytest.importorskip("llama_index.core")
    from llama_index.core.base.base_retriever import BaseRetriever
    from llama_index.core.schema import MetadataMode

    from qa.integrations.llama_index import ArticleRetriever

    li = ArticleRetriever(index=str(index), k=3, **settings)
    assert isinstance(li, BaseRetriever)
    for query in QUERIES:
        nodes = li.retrieve(query)
        hits = _expected(index, query, 3, **settings)
        assert [(n.node.text, n.node.metadata["article_id"], n.score) for n in nodes] == \
            [(h.text, h.article_id, pytest.approx(h.score)) for h in hits]
        for n in nodes:
            assert set(n.node.metadata) == KEYS
            article = articles[n.node.metadata["article_id"]]
            assert article.text[n.node.start_char_idx:n.node.end_char_idx] == n.node.text
            assert n.node.ref_doc_id == article.id
            shown = n.node.get_content(metadata_mode=MetadataMode.LLM)
            assert article.title in shown and "score" not in shown  # the LLM sees title and date, not offsets


def test_llama_index_async_filter_and_bad_settings(index):
    pytest.importorskip("llama_index.core")
    from qa.integrations.llama_index import ArticleRetriever

    li = ArticleRetriever(index=index, k=5, filter=SearchFilter(sources=("city.example.fr",)))
    nodes = asyncio.run(li.aretrieve("bike lanes council"))
    assert nodes and {n.node.metadata["source"] for n in nodes} == {"city.example.fr"}
    with pytest.raises(ConfigError, match="k must"):
        ArticleRetriever(index=index, k=0)
    with pytest.raises(ConfigError, match="fusion"):
        ArticleRetriever(index=index, fusion="max")
