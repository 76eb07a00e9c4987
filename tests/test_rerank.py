"""The cross-encoder stage with a tiny BERT cross-encoder that the test trains and saves itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.errors import ConfigError
from qa.ingest import ingest
from qa.rerank import Reranker
from qa.retrieval import Retriever
from qa.types import Article

TOPICS = ["volcano", "mayor", "strike", "harbour", "bakery", "zeppelin"]
WORDS = ["the", "a", "on", "news", "today", "people", "said", "near", "city", "report"]


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide BERT cross-encoder with its own WordPiece vocab, saved like any hub model."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    path = tmp_path_factory.mktemp("tiny-ce")
    (path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *TOPICS, *WORDS]) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(path / "vocab.txt"), do_lower_case=True)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64, num_labels=1,
                        initializer_range=0.2)  # wider than the default: clearly different scores
    BertForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def model_scores(path: Path, query: str, texts: list[str]) -> list[float]:
    """The saved model's logits computed directly with transformers: the reference order."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path).eval()
    with torch.no_grad():
        batch = tokenizer([query] * len(texts), texts, padding=True, truncation=True, return_tensors="pt")
        return model(**batch).logits.squeeze(-1).tolist()


CORPUS = [
    Article(f"a{i}", f"{text}.", title="")
    for i, text in enumerate([
        "people said the report on the city today near the volcano",
        "the mayor said today the city report",
        "people near the harbour said a strike today",
        "the bakery report said people today",
        "the zeppelin city report said today",
        "news today near the city said people",
    ])
]


def test_reranker_orders_hits_by_the_models_scores(tiny_cross_encoder: Path):
    from qa.types import Hit

    reranker = Reranker(str(tiny_cross_encoder))
    hits = [Hit(article_id=a.id, title="", url="", published="", source="", score=1.0 - i / 10, chunk_id=i, text=a.text, start=0,
                end=len(a.text)) for i, a in enumerate(CORPUS)]
    for query in ("volcano", "bakery report", "zeppelin city"):
        reference = model_scores(tiny_cross_encoder, query, [h.text for h in hits])
        ranked = reranker.rank(query, hits)
        in_order = [reference[h.chunk_id] for h in ranked]
        assert all(x >= y - 1e-5 for x, y in zip(in_order, in_order[1:]))  # the model's order (ties aside)
        assert ranked[0].chunk_id == max(range(len(hits)), key=lambda i: reference[i])
        assert [h.score for h in ranked] == sorted((h.score for h in ranked), reverse=True)
        assert all(h.text == hits[h.chunk_id].text for h in ranked)  # everything but the score is kept
        assert sorted(h.chunk_id for h in ranked) == list(range(len(hits)))


def test_retriever_reranks_with_a_local_model(tmp_path: Path, fake_encoder, tiny_cross_encoder: Path):
    ingest(CORPUS, tmp_path / "index", encoder=fake_encoder)
    r = Retriever.load(tmp_path / "index", encoder=fake_encoder)
    query = "report today said city"
    candidates = r.search(query, 20, mode="bm25", per_article=0)
    reranked = r.search(query, 3, mode="bm25", per_article=0, rerank=str(tiny_cross_encoder), rerank_depth=20)
    reference = model_scores(tiny_cross_encoder, query, [h.text for h in candidates])
    by_id = {h.chunk_id: score for h, score in zip(candidates, reference)}
    assert reranked[0].chunk_id == max(by_id, key=by_id.get)
    assert sorted(by_id[h.chunk_id] for h in reranked) == pytest.approx(sorted(reference)[-3:], abs=1e-5)
    assert len(reranked) == 3 and [h.score for h in reranked] == sorted((h.score for h in reranked), reverse=True)


def test_unloadable_model_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot load cross-encoder .*cross-encoder/ms-marco-MiniLM-L-6-v2"):
        Reranker(str(tmp_path / "no-such-model"))


@pytest.mark.slow
def test_search_command_takes_rerank_and_fusion(tmp_path: Path, minilm, tiny_cross_encoder: Path, capsys):
    import json

    from qa.cli import main

    ingest(CORPUS, tmp_path / "index", encoder=minilm)
    args = ["--index", str(tmp_path / "index"), "search", "zeppelin city report", "-k", "3", "--json"]
    assert main(args + ["--fusion", "rrf"]) == 0
    fused = json.loads(capsys.readouterr().out)
    assert len(fused) == 3 and fused[0]["article_id"] == "a4"
    assert main(args + ["--rerank", str(tiny_cross_encoder)]) == 0
    reranked = json.loads(capsys.readouterr().out)
    reference = model_scores(tiny_cross_encoder, "zeppelin city report", [h["text"] for h in reranked])
    assert [h["score"] for h in reranked] == sorted((h["score"] for h in reranked), reverse=True)
    assert reference == sorted(reference, reverse=True)
    assert main(args + ["--rerank", str(tmp_path / "missing")]) == 1
    assert "cannot load cross-encoder" in capsys.readouterr().err
