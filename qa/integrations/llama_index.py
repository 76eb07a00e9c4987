"""A LlamaIndex retriever over an index: `ArticleRetriever(index="embeddings/", k=5).retrieve(query)` (the [llama-index] extra)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

try:
    from llama_index.core.base.base_retriever import BaseRetriever
    from llama_index.core.callbacks import CallbackManager
    from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("the LlamaIndex retriever needs llama-index-core: pip install 'article-qa[llama-index]'") from exc

from qa import config
from qa.errors import ConfigError
from qa.integrations import hit_metadata, open_retriever, passage_id
from qa.types import Hit, SearchFilter

if TYPE_CHECKING:
    from qa.encoders import Encoder
    from qa.retrieval import Retriever

# What a response synthesizer shows the LLM beside the text (offsets and scores are for programs).
_NOT_FOR_LLM = ["article_id", "start", "end", "score"]


class ArticleRetriever(BaseRetriever):
    """Passages of the indexed articles as `NodeWithScore`s: a `TextNode` with the passage text, its span in the
    article (`start_char_idx`, `end_char_idx`), the article as its source node, and metadata title, url,
    published, source, article_id, start, end and score.

    `ArticleRetriever(index=DIR_OR_URI, k=5, **search_settings)` takes `qa.SearchSettings` fields (mode, fusion,
    rerank, per_article...) and an optional `filter=qa.SearchFilter(...)`; or `retriever=` an open `qa.Retriever`.
    """

    def __init__(
        self, index: str | os.PathLike[str] | None = None, k: int = config.K, *, retriever: Retriever | None = None,
        encoder: Encoder | None = None, filter: SearchFilter | None = None,
        callback_manager: CallbackManager | None = None, verbose: bool = False, **search_settings: Any,
    ) -> None:
        if not isinstance(k, int) or k < 1:
            raise ConfigError(f"k must be a whole number of at least 1, got {k!r}")
        self.k = k
        self.filter = filter
        self.retriever = open_retriever(index, retriever=retriever, encoder=encoder, **search_settings)
        super().__init__(callback_manager=callback_manager, verbose=verbose)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [NodeWithScore(node=_node(h), score=float(h.score))
                for h in self.retriever.search(query_bundle.query_str, self.k, filter=self.filter)]


def _node(hit: Hit) -> TextNode:
    return TextNode(
        id_=passage_id(hit), text=hit.text, metadata=hit_metadata(hit),
        start_char_idx=hit.start, end_char_idx=hit.end,
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=hit.article_id)},
        excluded_llm_metadata_keys=list(_NOT_FOR_LLM), excluded_embed_metadata_keys=list(_NOT_FOR_LLM),
    )
