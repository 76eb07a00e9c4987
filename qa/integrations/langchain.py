"""A LangChain retriever over an index: `ArticleRetriever(index="embeddings/", k=5).invoke(query)` (the [langchain] extra)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

try:
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever
    from pydantic import Field, PrivateAttr
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("the LangChain retriever needs langchain-core: pip install 'article-qa[langchain]'") from exc

from qa import config
from qa.integrations import hit_metadata, open_retriever, passage_id
from qa.types import SearchFilter

if TYPE_CHECKING:
    from qa.encoders import Encoder
    from qa.retrieval import Retriever


class ArticleRetriever(BaseRetriever):
    """Passages of the indexed articles as `Document`s: the passage text, and metadata title, url, published,
    source, article_id, start, end (offsets in the article text) and score.

    `ArticleRetriever(index=DIR_OR_URI, k=5, **search_settings)` takes `qa.SearchSettings` fields (mode, fusion,
    rerank, per_article...) and an optional `filter=qa.SearchFilter(...)`; or `retriever=` an open `qa.Retriever`.
    """

    index: str | None = None
    k: int = Field(default=config.K, ge=1)
    search_settings: dict[str, Any] = Field(default_factory=dict)
    filter: SearchFilter | None = None
    _retriever: Retriever = PrivateAttr()

    def __init__(
        self, index: str | os.PathLike[str] | None = None, k: int = config.K, *, retriever: Retriever | None = None,
        encoder: Encoder | None = None, filter: SearchFilter | None = None, tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None, **search_settings: Any,
    ) -> None:
        super().__init__(index=None if index is None else os.fspath(index), k=k, search_settings=search_settings,
                         filter=filter, tags=tags, metadata=metadata)
        self._retriever = open_retriever(index, retriever=retriever, encoder=encoder, **search_settings)

    @property
    def retriever(self) -> Retriever:
        """The `qa.Retriever` this searches with."""
        return self._retriever

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [Document(id=passage_id(h), page_content=h.text, metadata=hit_metadata(h))
                for h in self._retriever.search(query, self.k, filter=self.filter)]
