"""The sentence-transformers encoder: a model id or path run by torch, as the library runs it."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from qa import config
from qa.encoders.base import TokenVectors, token_vectors
from qa.encoders.hf import embedding_dimension, load_sentence_transformer, resolve_model

TORCH_BATCH_SIZE = 16  # faster than sentence-transformers' 64 on small CPUs: less padding per batch


class SentenceTransformerEncoder:
    """An `Encoder` backed by any sentence-transformers model id or local path."""

    def __init__(self, model: str = config.MODEL, *, device: str = "cpu") -> None:
        self.name = model
        self.backend = "torch"
        self._model = load_sentence_transformer(resolve_model(model), device)
        self.dimension = embedding_dimension(self._model)
        self.max_tokens = int(self._model.max_seq_length or 256)
        self._tokenizer = self._model.tokenizer

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=batch_size or TORCH_BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encoded = self._tokenizer(list(texts), add_special_tokens=False, truncation=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def encode_tokens(self, texts: Sequence[str], *, batch_size: int | None = None) -> tuple[np.ndarray, list[TokenVectors]]:
        """`encode(texts)` and each text's contextual token vectors with their ids (see `OnnxEncoder.encode_tokens`)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        rows = self._model.encode(list(texts), batch_size=batch_size or TORCH_BATCH_SIZE, output_value=None,
                                  normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        special = set(self._tokenizer.all_special_ids)
        tokens = []
        for row in rows:  # padded to the batch's longest text: the attention mask says how far each goes
            n = int(row["attention_mask"].sum())
            ids = row["input_ids"][:n].cpu().numpy()
            hidden = row["token_embeddings"][:n].float().cpu().numpy()
            keep = [i for i, t in enumerate(ids) if int(t) not in special]
            tokens.append(token_vectors(ids[keep], hidden[keep]))
        vectors = np.stack([row["sentence_embedding"].float().cpu().numpy() for row in rows])
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(vectors, dtype=np.float32), tokens
