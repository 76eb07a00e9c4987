"""Adapters for the tools people embed retrievers in: MCP, LangChain, LlamaIndex (each an optional extra).

Every adapter sits on `Retriever` and the answerer protocol; this module holds what they share:
opening a retriever from an index folder or URI, and the metadata of one passage.
"""

from __future__ import annotations

import os
from typing import Any

from qa.encoders import Encoder
from qa.errors import ConfigError
from qa.retrieval import Retriever
from qa.types import Hit, SearchFilter


def open_retriever(
    index: str | os.PathLike[str] | None = None, *, retriever: Retriever | None = None,
    encoder: Encoder | None = None, **search_settings: object,
) -> Retriever:
    """`retriever` as given, or a new one over `index` (a folder or backend URI; default $QA_INDEX_DIR or embeddings/)."""
    if retriever is not None:
        if index is not None or encoder is not None or search_settings:
            raise ConfigError("pass either an open retriever or an index with its settings, not both")
        return retriever
    return Retriever.load(index, encoder=encoder, **search_settings)


def make_filter(
    source: str | list[str] | tuple[str, ...] | None = None, since: str | None = None, until: str | None = None,
    article_ids: list[str] | tuple[str, ...] | None = None,
) -> SearchFilter | None:
    """A SearchFilter from loose arguments (one source or several), or None when nothing restricts the search."""
    sources = (source,) if isinstance(source, str) else tuple(source or ())
    flt = SearchFilter(tuple(s for s in sources if s), since or "", until or "", tuple(article_ids or ()))
    return None if flt.empty else flt


def hit_metadata(hit: Hit) -> dict[str, Any]:
    """The metadata every adapter attaches to a passage: its article's (`ArticleRef`) fields, start, end, score."""
    return {**hit.ref_fields(), "start": hit.start, "end": hit.end, "score": float(hit.score)}


def passage_id(hit: Hit) -> str:
    """A stable id for a passage: its article and character span (row ids change when segments merge)."""
    return f"{hit.article_id}:{hit.start}-{hit.end}"
