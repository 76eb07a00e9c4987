"""Sentence splitting and chunking: offsets are exact, budgets hold, overlap is bounded."""

from __future__ import annotations

import pytest

from qa.errors import ConfigError
from qa.reading.chunking import ChunkSettings, chunk_article, split_sentences
from qa.types import Article

TEXT = (
    "Mr. Smith went to Washington on Monday. He met Dr. Jones at 9 a.m. in the U.S. Capitol.\n"
    "\n"
    "“We agreed on nothing,” Smith said. Officials in Zürich — naïvely — expected more… "
    "The talks resume in May.\n"
    "A line without a full stop\n"
    + " ".join(f"word{i}" for i in range(300))
    + ". Final sentence here."
)


def words(texts):
    return [len(t.split()) for t in texts]


def test_sentences_have_exact_offsets_and_respect_abbreviations():
    spans = split_sentences(TEXT)
    sentences = [TEXT[s:e] for s, e in spans]
    assert sentences[0] == "Mr. Smith went to Washington on Monday."
    assert sentences[1] == "He met Dr. Jones at 9 a.m. in the U.S. Capitol."
    assert "A line without a full stop" in sentences
    assert all(s == s.strip() and s for s in sentences)
    assert spans == sorted(spans)


@pytest.mark.parametrize("max_tokens,overlap", [(16, 0), (32, 8), (64, 16), (128, 32)])
def test_chunk_offsets_rebuild_the_article(max_tokens, overlap):
    article = Article("a1", TEXT)
    chunks = chunk_article(article, words, ChunkSettings(max_tokens, overlap))
    assert chunks, "no chunks"
    for i, c in enumerate(chunks):
        assert article.text[c.start : c.end] == c.text
        assert c.index == i and c.article_id == "a1"
        assert len(c.text.split()) <= max_tokens
    # every sentence (or piece of an over-long one) is inside some chunk
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    for s, e in split_sentences(TEXT):
        assert all(pos in covered for pos in range(s, e) if not TEXT[pos].isspace())
    # chunks move forward and overlap by at most the overlap budget (in whole sentences)
    for prev, nxt in zip(chunks, chunks[1:]):
        assert nxt.start > prev.start
        shared = prev.text[nxt.start - prev.start :] if nxt.start < prev.end else ""
        assert len(shared.split()) <= overlap


def test_real_tokenizer_budget(minilm):
    article = Article("a2", TEXT * 3)
    chunks = chunk_article(article, minilm.count_tokens, ChunkSettings(64, 16))
    counts = minilm.count_tokens([c.text for c in chunks])
    assert max(counts) <= 64 + 2  # word windows of an over-long sentence may add a joint token
    assert all(article.text[c.start : c.end] == c.text for c in chunks)


def test_settings_are_validated_with_the_bad_value():
    with pytest.raises(ConfigError, match="max_tokens must be at least 16, got 4"):
        ChunkSettings(4, 0)
    with pytest.raises(ConfigError, match="overlap_tokens.*got 100"):
        ChunkSettings(128, 100)
