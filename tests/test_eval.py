"""`qa eval` on a fixed tiny corpus: pinned metric values, per-question results, report and valid PNG plots."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from qa.cli import main
from qa.errors import QAError
from qa.evaluation import compare_modes, evaluate, parse_modes, parse_question, read_baseline, read_questions
from qa.evaluation import metrics
from qa.evaluation.report import write_outputs
from qa.ingest import ingest
from qa.retrieval import Retriever
from qa.types import Answer, Article, ShortAnswer

ARTICLES = [
    Article("vol", "A volcano erupted near the fishing village on Sunday. Ash rose five kilometres into the sky. "
            "About 2,000 residents were evacuated by boat.", title="Volcano erupts near fishing village",
            url="https://geo.example/vol", published="2024-03-15", source="geo.example"),
    Article("mayor", "Incumbent mayor Clara Osei won a second term with 58 percent of the vote. Turnout was the highest "
            "in two decades.", title="Mayor wins second term", url="https://city.example/mayor", published="2024-04-20"),
    Article("rail", "Train drivers called off the strike after the operator offered a 6 percent pay rise. Services "
            "will run normally.", title="Rail strike called off", url="https://rail.example/strike", published="2024-02-10"),
    Article("zep", "A zeppelin floated over the harbour at dawn carrying twelve passengers and a crate of grain.",
            title="Airship over the harbour", url="https://skies.example/zep", published="2024-01-05"),
    Article("long", "Harbour cranes moved containers of grain all week. Dock workers loaded the grain ships at night. "
            "The harbour master praised the crews.", title="Busy week at the port", url="https://port.example/long"),
    Article("bake", "The village bakery won a prize for its rye bread. The baker rises at four every morning.",
            title="Bakery wins prize", url="https://food.example/bake"),
]

LINES = [
    {"question": "Which volcano erupted near the fishing village?", "article_id": "vol", "answers": ["volcano"]},
    {"question": "Who won a second term as mayor?", "url": "https://city.example/mayor", "answers": ["Clara Osei"], "short": ["Clara Osei"]},
    '{"question": "broken line",',
    {"question": ""},
    {"question": "What did the train drivers call off?", "article_id": ["rail"], "answers": ["the strike"]},
    {"question": "Who painted the Mona Lisa?", "answerable": False},
    {"question": "harbour grain ships and cranes", "article_id": ["long", "zep"]},
    ["not", "an", "object"],
    {"question": "fishing village boat evacuation, and bread", "article_id": "bake"},
    {"question": "Where did the parade take place?", "article_id": "not-indexed"},
]


def write_questions(path: Path) -> Path:
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in LINES) + "\n")
    return path


def is_png(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_metric_functions_by_hand():
    ranked = ["x", "a", "y", "b"]
    assert metrics.recall_at(ranked, {"a", "b"}, 1) == 0.0
    assert metrics.recall_at(ranked, {"a", "b"}, 2) == 0.5
    assert metrics.mrr_at(ranked, {"a", "b"}, 10) == 0.5
    assert metrics.mrr_at(ranked, {"z"}, 10) == 0.0
    # DCG = 1/log2(3) + 1/log2(5); ideal = 1 + 1/log2(3)
    assert metrics.ndcg_at(ranked, {"a", "b"}, 10) == pytest.approx((1 / 1.5849625 + 1 / 2.3219281) / (1 + 1 / 1.5849625))
    assert metrics.exact_match("The Strike!", ["strike"]) == 1.0
    assert metrics.f1("the rail strike", ["strike"]) == pytest.approx(2 * 0.5 * 1 / 1.5)
    assert metrics.contains_answer("Drivers called off the strike.", ["the strike"]) == 1.0
    assert metrics.percentile([1, 2, 3, 4], 50) == 2.5 and metrics.percentile([5.0], 95) == 5.0
    assert metrics.abstention([True, True, False], [False, True, False]) == (0.5, 0.5)


def test_paired_difference_interval():
    assert metrics.paired_difference([1.0, 0.5], [1.0, 0.5]) == (0.0, 0.0, 0.0)
    assert metrics.paired_difference([1.0, 0.5, 0.2], [0.5, 0.0, -0.3]) == pytest.approx((0.5, 0.5, 0.5))
    # +-1 differences in equal numbers: mean 0, interval about +-1.96 / sqrt(n)
    diff, low, high = metrics.paired_difference([1.0, 0.0] * 200, [0.0, 1.0] * 200)
    assert diff == 0.0 and low == pytest.approx(-0.098, abs=0.02) and high == pytest.approx(0.098, abs=0.02)
    # one query flips from a miss to a hit out of 400: not distinguishable from noise
    assert metrics.paired_difference([1.0] + [0.5] * 399, [0.0] + [0.5] * 399)[1] == 0.0
    with pytest.raises(ValueError, match="equal lengths"):
        metrics.paired_difference([1.0], [1.0, 0.0])


def test_questions_file_reports_bad_lines_by_number(tmp_path: Path):
    questions, skipped = read_questions(write_questions(tmp_path / "q.jsonl"))
    assert [q.line for q in questions] == [1, 2, 5, 6, 7, 9, 10]
    assert [s.line for s in skipped] == [3, 4, 8]
    assert "not valid JSON" in skipped[0].reason and "non-empty string" in skipped[1].reason
    assert "expected a JSON object, got list" in skipped[2].reason
    assert questions[1].relevant == ("https://city.example/mayor",) and questions[3].answerable is False
    assert parse_modes(["all"]) == ["dense", "bm25", "hybrid"] and parse_modes(["bm25,dense", "bm25"]) == ["bm25", "dense"]


def test_evaluate_pins_metrics_on_the_tiny_corpus(tmp_path: Path, fake_encoder):
    ingest(ARTICLES, tmp_path / "index", encoder=fake_encoder)
    retriever = Retriever.load(tmp_path / "index", encoder=fake_encoder)
    questions, _ = read_questions(write_questions(tmp_path / "q.jsonl"))
    canned = {  # a fixed stand-in for the answerer, so the answer metrics are exact
        "Which volcano erupted near the fishing village?": Answer("A volcano erupted", False, 0.9),
        "Who won a second term as mayor?": Answer("Incumbent mayor Clara Osei", False, 0.8, short=ShortAnswer("Clara Osei", 16, 26)),
        "What did the train drivers call off?": Answer("", True, 0.1),
        "Who painted the Mona Lisa?": Answer("", True, 0.1),
        "harbour grain ships and cranes": Answer("cranes", False, 0.5),
        "fishing village boat evacuation, and bread": Answer("bread", False, 0.5),
        "Where did the parade take place?": Answer("", True, 0.2),
    }
    results = evaluate(questions, retriever, ["bm25", "hybrid"], answer=lambda q, mode, history: canned[q])
    bm25, hybrid = (r.metrics for r in results)
    # per question (lines 1, 2, 5, 7, 9, 10): bm25 ranks the relevant at 1, 1, 1, {1, 2}, 2, never
    assert {k: bm25[k] for k in ("questions", "with_relevant", "recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")} == {
        "questions": 7, "with_relevant": 6, "recall@1": 0.5833, "recall@5": 0.8333, "recall@10": 0.8333,
        "mrr@10": 0.75, "ndcg@10": 0.7718,
    }
    assert bm25["recall_curve"][:3] == [0.5833, 0.8333, 0.8333]
    # hybrid with the fake encoder puts "bake" third for line 9
    assert {k: hybrid[k] for k in ("recall@1", "recall@5", "mrr@10", "ndcg@10")} == {
        "recall@1": 0.5833, "recall@5": 0.8333, "mrr@10": 0.7222, "ndcg@10": 0.75,
    }
    answers = bm25["answer"]
    assert {k: answers[k] for k in ("scored", "accuracy", "em", "f1", "unanswerable", "abstention_precision", "abstention_recall")} == {
        "scored": 3, "accuracy": 0.6667, "em": 1.0, "f1": 1.0, "unanswerable": 1,
        "abstention_precision": 0.3333, "abstention_recall": 1.0,
    }
    assert list(answers["by_kind"]) == ["first", "unanswerable"]
    assert answers["by_kind"]["unanswerable"]["right"] == 1.0 and answers["by_kind"]["first"]["questions"] == 6
    assert answers["by_kind"]["first"]["right"] == 0.6667 and answers["by_kind"]["first"]["short_expected"] == 1
    record = results[0].records[0]
    assert record["ranked"][0] == "vol" and record["rank"] == 1 and record["latency_ms"] > 0
    # paired over the same questions: only line 9 differs (rank 2 vs 3), and the canned answers agree
    mrr, accuracy, *by_kind = compare_modes(results)
    assert mrr["modes"] == ["bm25", "hybrid"] and mrr["metric"] == "mrr@10" and mrr["questions"] == 6
    assert mrr["difference"] == 0.0278 and mrr["ci95"][0] == 0.0 and mrr["ci95"][1] > 0.0278
    assert accuracy["metric"] == "answer accuracy" and accuracy["questions"] == 3
    assert (accuracy["difference"], accuracy["ci95"]) == (0.0, [0.0, 0.0])
    assert [c["metric"] for c in by_kind] == ["right: first", "right: unanswerable", "short-answer EM", "short-answer F1"]


@pytest.mark.slow
def test_qa_eval_command_writes_every_output(tmp_path: Path, minilm, caplog, capsys):
    index = tmp_path / "index"
    ingest(ARTICLES, index, encoder=minilm)
    questions = write_questions(tmp_path / "q.jsonl")
    out = tmp_path / "out"
    code = main(["--index", str(index), "eval", str(questions), "--mode", "all", "--out", str(out), "--quiet", "--no-answers"])
    assert code == 0
    assert f"{questions}: line 3 skipped: not valid JSON" in caplog.text and "line 8 skipped" in caplog.text
    assert "bm25 - hybrid: mrr@10 +0.000 (95% CI +0.000 to +0.000, 6 questions)" in capsys.readouterr().out

    doc = json.loads((out / "metrics.json").read_text())
    assert [s["line"] for s in doc["skipped"]] == [3, 4, 8] and doc["questions"] == 7
    pinned = {mode: {k: doc["modes"][mode][k] for k in ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")}
              for mode in ("dense", "bm25", "hybrid")}
    assert pinned == {
        "dense": {"recall@1": 0.5833, "recall@5": 0.8333, "recall@10": 0.8333, "mrr@10": 0.75, "ndcg@10": 0.7718},
        "bm25": {"recall@1": 0.5833, "recall@5": 0.8333, "recall@10": 0.8333, "mrr@10": 0.75, "ndcg@10": 0.7718},
        "hybrid": {"recall@1": 0.5833, "recall@5": 0.8333, "recall@10": 0.8333, "mrr@10": 0.75, "ndcg@10": 0.7718},
    }
    assert doc["modes"]["hybrid"]["latency_ms"]["p50"] > 0 and doc["modes"]["hybrid"]["answer"] is None

    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 21 and {r["mode"] for r in rows} == {"dense", "bm25", "hybrid"}
    assert next(r for r in rows if r["line"] == 2)["relevant"] == ["mayor"]  # the URL resolved to the id
    report = (out / "report.md").read_text()
    assert "| hybrid | 6 | 0.5833 | 0.8333 | 0.8333 | 0.7500 | 0.7718 |" in report
    assert "line 3: not valid JSON" in report
    assert [c["modes"] for c in doc["comparisons"]] == [["dense", "bm25"], ["dense", "hybrid"], ["bm25", "hybrid"]]
    assert "| bm25 - hybrid | mrr@10 | 6 | +0.0000 | [+0.0000, +0.0000] |" in report
    for plot in ("recall_at_k.png", "latency.png"):
        width, height = is_png(out / plot)
        assert (width, height) == (600, 400) and (out / plot).stat().st_size > 5000

    again = ["--index", str(index), "eval", str(questions), "--mode", "bm25", "--out", str(tmp_path / "again"), "--quiet", "--no-answers"]
    assert main([*again, "--baseline", str(out)]) == 0
    assert "bm25 vs baseline: mrr@10 +0.000 (95% CI +0.000 to +0.000, 6 questions)" in capsys.readouterr().out
    assert main([*again, "--baseline", str(tmp_path / "nothing-here")]) != 0
    assert "cannot read the baseline" in capsys.readouterr().err


@pytest.mark.slow
def test_qa_eval_runs_the_answerer(tmp_path: Path, minilm):
    index = tmp_path / "index"
    ingest(ARTICLES, index, encoder=minilm)
    out = tmp_path / "out"
    assert main(["--index", str(index), "eval", str(write_questions(tmp_path / "q.jsonl")), "--out", str(out), "--quiet"]) == 0
    answer = json.loads((out / "metrics.json").read_text())["modes"]["hybrid"]["answer"]
    assert answer["scored"] == 3 and answer["unanswerable"] == 1 and answer["latency_ms"]["p50"] > 0
    assert 0.0 <= answer["accuracy"] <= 1.0 and 0.0 <= answer["abstention_recall"] <= 1.0
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert all("answer" in r and "text" in r["answer"] for r in rows)


def test_question_files_from_other_tools_are_read(tmp_path: Path, fake_encoder):
    """A byte-order mark, Windows line ends, and URLs written a little differently from the indexed ones."""
    ingest(ARTICLES, tmp_path / "index", encoder=fake_encoder)
    retriever = Retriever.load(tmp_path / "index", encoder=fake_encoder)
    lines = [
        {"question": "Who won a second term as mayor?", "url": "http://www.City.example/mayor/#results"},
        {"question": "What did the train drivers call off?", "url": "https://rail.example/strike/"},
        {"question": "Which volcano erupted?", "url": "https://geo.example/volcano"},  # another page: not a match
    ]
    path = tmp_path / "q.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(json.dumps(line) for line in lines).encode() + b"\r\n")
    questions, skipped = read_questions(path)
    assert skipped == [] and [q.line for q in questions] == [1, 2, 3]
    [result] = evaluate(questions, retriever, ["bm25"])
    assert [r["relevant"] for r in result.records] == [["mayor"], ["rail"], ["https://geo.example/volcano"]]
    assert [r["rank"] for r in result.records] == [1, 1, None]


def test_a_run_is_compared_with_an_earlier_one(tmp_path: Path, fake_encoder, caplog):
    """Before and after adding the bakery article: only the question about it changes (a miss, then rank 2)."""
    index = tmp_path / "index"
    ingest(ARTICLES[:-1], index, encoder=fake_encoder)
    retriever = Retriever.load(index, encoder=fake_encoder)
    questions, skipped = read_questions(write_questions(tmp_path / "q.jsonl"))
    write_outputs(tmp_path / "before", evaluate(questions, retriever, ["bm25"]), skipped, {})
    ingest(ARTICLES[-1:], index, encoder=fake_encoder)
    retriever.reload()
    after = evaluate(questions[::-1], retriever, ["bm25", "hybrid"])  # reordered: questions pair by their text
    doc = write_outputs(tmp_path / "after", after, skipped, {}, (str(tmp_path / "before"), read_baseline(tmp_path / "before")))
    [mrr] = doc["baseline"]["comparisons"]  # no answers were run, and the baseline has no hybrid results
    assert (mrr["mode"], mrr["metric"], mrr["questions"], mrr["difference"]) == ("bm25", "mrr@10", 6, 0.0833)
    assert mrr["ci95"][0] == 0.0 and mrr["ci95"][1] > 0.0833
    assert "none of these questions is in the baseline's hybrid results" in caplog.text
    assert "| bm25 | mrr@10 | 6 | +0.0833 |" in (tmp_path / "after" / "report.md").read_text()

    with pytest.raises(QAError, match="cannot read the baseline .*results.jsonl.*earlier qa eval"):
        read_baseline(tmp_path / "missing")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "results.jsonl").write_text('{"question": "q"}\n')
    with pytest.raises(QAError, match="not a qa eval results file"):
        read_baseline(tmp_path / "junk")


def test_numbers_are_read_as_ids_and_answers_but_other_types_are_refused():
    q = parse_question('{"question": "When?", "article_id": [7, "b"], "answers": 2018}', 1)
    assert q.relevant == ("7", "b") and q.answers == ("2018",)
    for bad in ('{"question": "q", "article_id": true}', '{"question": "q", "answers": [{"a": 1}]}', '{"question": "q", "url": 1.5}'):
        with pytest.raises(ValueError, match="must be a string, a whole number or a list of them"):
            parse_question(bad, 1)


def test_qa_eval_refuses_an_output_path_that_is_a_file(tmp_path: Path, capsys):
    (tmp_path / "q.jsonl").write_text(json.dumps({"question": "Who won?"}) + "\n")
    (tmp_path / "taken").write_text("my notes")
    code = main(["--index", str(tmp_path / "index"), "eval", str(tmp_path / "q.jsonl"), "--out", str(tmp_path / "taken")])
    assert code == 1 and (tmp_path / "taken").read_text() == "my notes"
    assert "taken: it is a file, not a directory" in capsys.readouterr().err
