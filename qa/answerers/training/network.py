"""The reader network: a BERT-style encoder with an answer-score head and a short-answer span head (torch)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from qa.answerers.pairs import MARKERS


class ReaderNet(nn.Module):
    """Scores a (question, candidate) pair: `score` is the logit that the candidate sentence answers the question
    (against a no-answer option whose logit is 0); `start`/`end` are per-token logits of the short answer's span.
    The score reads the [CLS] vector and the vector of the marker before the candidate sentence."""

    def __init__(self, encoder: Any, start_marker_id: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.start_marker_id = start_marker_id
        self.dropout = nn.Dropout(dropout)
        self.pool = nn.Linear(2 * hidden, hidden)
        self.score = nn.Linear(hidden, 1)
        self.span = nn.Linear(hidden, 2)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                              return_dict=True).last_hidden_state
        marker = (input_ids == self.start_marker_id).to(hidden.dtype).unsqueeze(-1)
        at_marker = (hidden * marker).sum(dim=1)
        pooled = torch.tanh(self.pool(self.dropout(torch.cat([hidden[:, 0], at_marker], dim=-1))))
        score = self.score(self.dropout(pooled)).squeeze(-1)
        span = self.span(self.dropout(hidden))
        return score, span[..., 0], span[..., 1]


def load_network(base: str, tokenizer: Any, seed: int) -> ReaderNet:
    """A fresh reader network on the transformer at `base` (a folder or model id; the packaged MiniLM by default),
    its new heads initialised from `seed`."""
    from transformers import AutoModel

    torch.manual_seed(seed)
    encoder = AutoModel.from_pretrained(base)
    return ReaderNet(encoder, tokenizer.token_to_id(MARKERS["start"]))
