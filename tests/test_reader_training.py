"""Training a reader end to end on a few candidate lists: seeded, it learns to put the answer first, and its int8
ONNX export is a reader the answerer loads."""

from __future__ import annotations

import json

import numpy as np
import pytest
from answer_corpus import ANSWERABLE, OTHERS, UNANSWERABLE

from qa.answerers.pairs import PairEncoder
from qa.answerers.reader import OnnxReader, load_reader
from qa.answerers.training import export, train
from qa.answerers.training.lists import QuestionList, Row
from qa.answerers.training.network import load_network
from qa.reading.chunking import split_sentences
from qa.encoders.hf import packaged_model_path

SETTINGS = train.TrainSettings(epochs=5, group=6, groups_per_step=4, learning_rate=1e-4, head_learning_rate=2e-3,
                               warmup=0.1, seed=3, threads=2, bf16="off")


def _sentences(article) -> list[str]:
    return [article.text[s:e] for s, e in split_sentences(article.text)]


def _lists() -> list[QuestionList]:
    """The answer corpus' questions about its short articles: every sentence of the article (right: it holds the
    phrase) and three of another article; unanswerable questions get wrong sentences only."""
    articles = {a.id: a for a in OTHERS}
    out = []
    for n, (question, phrase, key) in enumerate(q for q in ANSWERABLE if q[2] in articles):
        article, other = articles[key], OTHERS[(list(articles).index(key) + 1) % len(OTHERS)]
        rows = [Row(s, article.title, "", "", article.id, i, 0.5, 0, int(phrase in s)) for i, s in enumerate(_sentences(article))]
        rows += [Row(s, other.title, "", "", other.id, i, 0.5, 0, 0) for i, s in enumerate(_sentences(other)[:3])]
        for rank, row in enumerate(rows):
            row.rank = rank
        out.append(QuestionList(f"q{n}", "first", question, "", "", True, key, len(rows), True, rows))
    for n, question in enumerate(UNANSWERABLE[:3]):
        rows = [Row(s, a.title, "", "", a.id, 0, 0.5, i, 0) for i, (a, s) in enumerate((a, _sentences(a)[0]) for a in OTHERS[:4])]
        out.append(QuestionList(f"u{n}", "unanswerable", question, "", "", False, f"u{n}", len(rows), False, rows))
    return out


def _first_right(lists: list[QuestionList], logits: list[np.ndarray]) -> float:
    answerable = [(q, s) for q, s in zip(lists, logits) if q.answerable]
    return sum(q.rows[int(np.argmax(s))].label == 1 for q, s in answerable) / len(answerable)


@pytest.fixture(scope="module")
def pair_encoder() -> PairEncoder:
    from tokenizers import Tokenizer

    return PairEncoder(Tokenizer.from_file(f"{packaged_model_path()}/tokenizer.json"), places=True)


def test_training_is_seeded(pair_encoder):
    lists = _lists()
    quick = train.TrainSettings(**{**SETTINGS.__dict__, "epochs": 0.5})
    runs = [train.train(load_network(packaged_model_path(), pair_encoder.tokenizer, SETTINGS.seed), pair_encoder, lists, quick, show=False)
            for _ in range(2)]
    assert runs[0]["history"] and runs[0]["history"] == [{**r, "seconds": runs[0]["history"][i]["seconds"]}
                                                         for i, r in enumerate(runs[1]["history"])]


def test_a_trained_reader_puts_the_answer_first_and_exports_as_int8_onnx(tmp_path, pair_encoder):
    lists = _lists()
    assert len(lists) >= 8 and all(any(r.label for r in q.rows) for q in lists if q.answerable)
    network = load_network(packaged_model_path(), pair_encoder.tokenizer, SETTINGS.seed)
    before = _first_right(lists, train.predict(network, pair_encoder, lists, within=99, show=False))
    report = train.train(network, pair_encoder, lists, SETTINGS, show=False)
    after = _first_right(lists, train.predict(network, pair_encoder, lists, within=99, show=False))
    assert report["steps"] >= 10 and report["pairs"] >= 10 * SETTINGS.groups_per_step
    assert after >= before + 0.25, (before, after)

    folder = export.export(network, pair_encoder, f"{packaged_model_path()}/tokenizer.json", tmp_path / "reader",
                           {"name": "test-reader", "places": True, "max_length": pair_encoder.max_length})
    config = json.loads((folder / "reader.json").read_text(encoding="utf-8"))
    assert config["name"] == "test-reader" and (folder / "model.onnx").stat().st_size < 30e6
    reader = load_reader(folder)
    assert isinstance(reader, OnnxReader)
    exported = [reader.read([q.pair(r) for r in q.rows]).logits for q in lists]
    assert _first_right(lists, exported) >= after - 0.15  # int8 weights rank (almost) as the trained network does
