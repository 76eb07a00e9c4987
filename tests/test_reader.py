"""The answer reader's parts: its input (token budgets, markers, offsets), span decoding, calibration and threshold,
the packaged reader's files, and any cross-encoder folder as the reader."""

from __future__ import annotations

import json

import numpy as np
import pytest
from answer_corpus import OTHERS, ZELENSKY, write_putin_page

from qa.answerers.calibration import Calibration, choose_threshold, fit_isotonic
from qa.answerers.pairs import MARKERS, MAX_LENGTH, PairEncoder, PairText, batch
from qa.answerers.reader import PACKAGED_READER, CrossEncoderReader, OnnxReader, best_span, load_reader
from qa.encoders.hf import packaged_model_path
from qa.errors import ConfigError

SENTENCE = "The coin, called Big Maple Leaf, is worth about $4 million at current gold prices."


@pytest.fixture(scope="module")
def pairs() -> PairEncoder:
    from tokenizers import Tokenizer

    return PairEncoder(Tokenizer.from_file(f"{packaged_model_path()}/tokenizer.json"))


def test_a_pair_holds_the_conversation_the_question_the_title_and_the_marked_sentence(pairs):
    pair = PairText("how much is it worth?", SENTENCE, "Gold coin stolen from Berlin museum", "Thieves broke in at night.",
                    "Police found a ladder.", "What was stolen from the Bode Museum?", "A 100kg gold coin was stolen.")
    encoded = pairs.encode([pair])[0]
    text = pairs.tokenizer.decode(encoded.ids.tolist(), skip_special_tokens=False)
    assert text.startswith("[CLS] how much is it worth? [SEP] what was stolen from the bode museum? [unused2] a 100kg gold coin")
    assert "gold coin stolen from berlin museum [unused3] thieves broke in at night. [unused0] the coin" in text
    assert text.endswith("[unused1] police found a ladder. [SEP]")
    first, stop = encoded.sentence
    assert pairs.tokenizer.id_to_token(int(encoded.ids[first - 1])) == MARKERS["start"]
    assert pairs.tokenizer.id_to_token(int(encoded.ids[stop])) == MARKERS["end"]
    # each sentence token's offsets point into the sentence: "$4 million" is found again through them
    spans = [SENTENCE[a:b] for a, b in encoded.offsets]
    assert "million" in spans and spans[0].lower() == "the"
    seps = [i for i, t in enumerate(encoded.ids.tolist()) if t == pairs.ids["sep"]]
    head = seps[1] + 1  # [CLS] question [SEP] previous turn [SEP]: segment 0; the article: segment 1
    assert set(encoded.types[:head].tolist()) == {0} and set(encoded.types[head:].tolist()) == {1}


def test_long_inputs_are_cut_to_the_budget_the_sentence_and_question_kept(pairs):
    long = " ".join(["word"] * 300)
    pair = PairText("what did the minister announce on monday?", SENTENCE, long, long + ".", long + ".", long + "?", long + ".")
    encoded = pairs.encode([pair])[0]
    assert len(encoded.ids) <= MAX_LENGTH
    text = pairs.tokenizer.decode(encoded.ids.tolist(), skip_special_tokens=False)
    assert "what did the minister announce on monday?" in text
    assert "is worth about $ 4 million at current gold prices." in text
    first, stop = encoded.sentence
    assert stop - first == len(encoded.offsets)
    inputs = batch(pairs.encode([pair, PairText("who?", "Short.")]))
    assert inputs["input_ids"].shape[0] == 2 and inputs["attention_mask"][1].sum() < inputs["attention_mask"][0].sum()


def test_the_span_head_marks_characters_inside_the_candidate_sentence(pairs):
    encoded = pairs.encode([PairText("how much is it worth?", SENTENCE)])[0]
    first, stop = encoded.sentence
    tokens = [SENTENCE[a:b] for a, b in encoded.offsets]
    start, end = np.full(len(encoded.ids), -5.0), np.full(len(encoded.ids), -5.0)
    start[first + tokens.index("$")] = 5.0
    end[first + tokens.index("million")] = 5.0
    start[1] = end[1] = 50.0  # a token of the question never makes the span
    a, b = best_span(encoded, start, end)
    assert SENTENCE[a:b] == "$4 million"


def test_calibration_is_increasing_and_the_threshold_gets_the_most_questions_right():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=400)
    right = (rng.random(400) < 1 / (1 + np.exp(-2 * logits))).astype(float)
    xs, ys = fit_isotonic(logits, right)
    calibration = Calibration(xs, ys)
    p = calibration.probability(np.sort(logits))
    assert np.all(np.diff(p) >= -1e-12) and 0.0 <= p.min() and p.max() <= 1.0
    assert calibration.probability(-100.0) == pytest.approx(ys[0]) and calibration.probability(100.0) == pytest.approx(ys[-1])
    # three answerable questions right at 0.9, 0.8 and 0.4; two unanswerable at 0.6 and 0.3
    probability = [0.9, 0.8, 0.4, 0.6, 0.3]
    ok = [1, 1, 1, 0, 0]
    answerable = [True, True, True, False, False]
    t = choose_threshold(probability, ok, answerable)
    assert 0.3 < t <= 0.4  # everything from 0.4 up answered: 3 right + 1 abstention right beats the others
    assert 0.6 < choose_threshold(probability, ok, answerable, precision=0.99) <= 0.8
    with pytest.raises(ConfigError):
        choose_threshold(probability, ok, answerable, precision=1.5)
    with pytest.raises(ConfigError, match="increasing"):
        Calibration((1.0, 0.0), (0.2, 0.3))
    assert Calibration.from_dict(calibration.to_dict()) == calibration


def test_a_lead_over_the_next_candidate_weighs_in_when_it_separates_right_answers_on_dev():
    """Replayed questions whose right answers stand out from the next candidate (and whose unanswerable ones do not):
    the fit gives the lead a weight, and a clear lead raises the probability."""
    from qa.answerers.training.calibrate import fit

    rng = np.random.default_rng(1)
    records = []
    for n in range(600):
        right = n % 2 == 0
        best = rng.normal(2.0, 1.5)
        lead = rng.uniform(2.0, 4.0) if right else rng.uniform(0.0, 1.5)
        records.append({"kind": "first" if right else "unanswerable", "answerable": right, "logit": best,
                        "second": best - lead, "right": float(right)})
    calibration, report = fit(records, "test-reader")
    assert calibration.margin > 0 and report["margins_tried"]["0.0"]["right"] < report["outcome"]["all"]["right"]
    assert calibration.probability(2.0, 2.0 - 4.0) > calibration.probability(2.0, 2.0 - 0.5)
    assert Calibration.from_dict(calibration.to_dict()) == calibration


def test_the_packaged_reader_is_int8_onnx_under_30_mb_with_its_card():
    assert (PACKAGED_READER / "model.onnx").stat().st_size <= 30 * 1024 * 1024
    config = json.loads((PACKAGED_READER / "reader.json").read_text(encoding="utf-8"))
    assert config["base"] and config["base_license"] == "Apache-2.0"
    assert config["calibration"]["logits"] and 0.0 < config["calibration"]["threshold"] < 1.0
    assert config["trained"]["data"]["train"]["questions"] >= 4000
    card = (PACKAGED_READER / "README.md").read_text(encoding="utf-8")
    for words in ("all-MiniLM-L6-v2", "Apache-2.0", "qa train-reader", "dev", "test"):
        assert words in card
    reader = load_reader()
    assert isinstance(reader, OnnxReader)
    out = reader.read([PairText("How much is the coin worth?", SENTENCE, "Gold coin stolen"),
                       PairText("How much is the coin worth?", "Police found a ladder at the scene.", "Gold coin stolen")],
                      spans=True)
    assert out.logits[0] > out.logits[1], "the sentence that says what it is worth wins"
    a, b = out.spans[0]
    assert "4 million" in SENTENCE[a:b]


def test_a_reader_folder_that_is_broken_is_a_clear_error(tmp_path):
    (tmp_path / "reader.json").write_text('{"format": 1}', encoding="utf-8")
    with pytest.raises(ConfigError, match="lacks model.onnx"):
        load_reader(tmp_path)
    (tmp_path / "reader.json").write_text('{"format": 99}', encoding="utf-8")
    with pytest.raises(ConfigError, match="format 99"):
        load_reader(tmp_path)


@pytest.mark.slow
def test_any_cross_encoder_folder_can_be_the_reader(tmp_path, minilm, caplog):
    """A sentence-transformers CrossEncoder saved to a folder (here MiniLM with a fresh head) answers through the same
    answerer, uncalibrated until `qa calibrate` (which says so)."""
    from sentence_transformers import CrossEncoder

    from qa.answerers import ExtractiveAnswerer
    from qa.ingest import ingest
    from qa.reading.sources import read_sources
    from qa.retrieval import Retriever

    CrossEncoder(packaged_model_path(), num_labels=1).save(str(tmp_path / "ce"))
    page = next(iter(read_sources([str(write_putin_page(tmp_path))])))
    ingest([page, ZELENSKY, *OTHERS], tmp_path / "index", encoder=minilm)
    reader = load_reader(tmp_path / "ce")
    assert isinstance(reader, CrossEncoderReader)
    answerer = ExtractiveAnswerer(Retriever.load(tmp_path / "index", encoder=minilm), reader=str(tmp_path / "ce"))
    answer = answerer.ask("What did Putin reject?", threshold=0.0)
    assert not answer.abstained and answer.citations  # a fresh head is no judge: any sentence, but quoted exactly
    cited = answer.citations[0]
    assert cited.excerpt[cited.answer_start : cited.answer_end] == answer.text
    assert answer.text in answerer.retriever.article(cited.article_id).text
    assert "no calibration" in caplog.text
