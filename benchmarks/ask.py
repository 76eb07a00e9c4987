"""Benchmark the answerer on the test split, by kind of question, before and after: `python -m benchmarks.ask`.

The index is NewsArticles plus the question set's scraped pages (`page-<stem>`; qa.answerers.training.corpus). The
questions are `benchmarks/questions/answers-test.jsonl` (nothing was fitted on them). "Before" is the answerer of an
earlier commit (`--before`, default the commit the reader work started from: the linear model of issue 10), run on
the same questions and index through its own API in a child process (benchmarks/replay_answers.py); "after" is this
tree's. Both go through `qa eval`'s metrics; differences have paired-bootstrap 95% intervals (`qa eval --baseline`).

Also, for this tree: the candidate ceiling (a right sentence among the candidates), right at rank 1 and within the
reader's top 3, the AUC of the answer's probability (right answers against the rest), and latency: single questions
with no sentence vectors cached (cold) and asked again (warm), both answerers in the same run, `--threads` encoder
threads as app.py runs them. Writes benchmarks/results/ask.json and the two `qa eval` output folders under
benchmarks/.cache/ask-eval/.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.baseline import extract_qa
from benchmarks.common import CACHE, REPO, RESULTS, machine, run_with_qa
from qa.answerers import ExtractiveAnswerer
from qa.answerers.training.calibrate import auc
from qa.answerers.training.corpus import build_index
from qa.conversation import Turn
from qa.encoders import set_threads
from qa.evaluation import evaluate, metrics as m, read_baseline, read_questions
from qa.evaluation.report import write_outputs
from qa.retrieval import Retriever
from qa.types import Answer, Citation, ShortAnswer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

BEFORE = "8dcd820"  # main when the reader work began (issue 21): the listwise linear model of issue 10
KINDS = ("first", "followup", "casual", "unanswerable")
QUESTIONS = REPO / "benchmarks" / "questions"


def before_answers(ref: str, index: Path, questions: Path, out: Path, timing: Path) -> dict[tuple[str, tuple[str, ...]], Answer]:
    """The earlier answerer's answers by (question, history): its `qa/` extracted from git, run in a child process
    (which also times its single questions, cold and warm, into `timing`)."""
    with tempfile.TemporaryDirectory() as tree:
        extract_qa(ref, Path(tree), hint="give --before a commit of this repository")
        run_with_qa(Path(tree), "benchmarks.replay_answers", str(index), str(questions), str(out), str(timing))
    answers = {}
    for line in out.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        a = row["answer"]
        citations = [Citation(**{k: v for k, v in c.items() if k in Citation.__dataclass_fields__}) for c in a["citations"]]
        short = ShortAnswer(**a["short"]) if a.get("short") else None
        answers[(row["question"], tuple(row["history"]))] = Answer(
            a["text"], a["abstained"], a["confidence"], citations, a.get("query", ""), a.get("score", 0.0), short)
    return answers


class Diagnosed:
    """This tree's answerer as `qa eval` calls it, keeping what each answer's candidates looked like: whether a right
    sentence was among them, the rank of the first right one by the reader, the probability given."""

    def __init__(self, answerer: ExtractiveAnswerer, questions: list[Any]) -> None:
        self.answerer = answerer
        self.by_key = {(q.question, q.history): q for q in questions}
        self.records: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}

    def __call__(self, question: str, mode: str, history: list[Turn]) -> Answer:
        a = self.answerer
        scored = a.score(question, history)
        if isinstance(scored, Answer):
            answer = scored
            rank, ceiling = None, False
        else:
            rows = a.read(scored, history)
            answer = a._answer(scored, history, a.settings)
            key = (question, tuple(t.question for t in history))
            q = self.by_key.get(key)
            rank, ceiling = None, False
            if q is not None and q.answerable:
                relevant = {a.retriever.resolve(r) or r for r in q.relevant}
                right = [bool(m.contains_answer(t, q.answers)) and (not relevant or c.article_id in relevant)
                         for c, t in zip(scored.candidates, scored.texts)]
                ceiling = any(right)
                order = sorted(rows, key=lambda i: -scored.logits[i])
                rank = next((n for n, i in enumerate(order) if right[i]), None)
        self.records[(question, tuple(t.question for t in history))] = {"rank": rank, "ceiling": ceiling,
                                                                         "probability": answer.confidence}
        return answer


def diagnostics(questions: list[Any], diagnosed: Diagnosed) -> dict[str, Any]:
    """Candidate ceiling, right at rank 1 and in the top 3 (by kind, answerable questions), the probability's AUC."""
    out: dict[str, Any] = {}
    for kind in (*KINDS[:3], "all"):
        rows = [diagnosed.records.get((q.question, q.history)) for q in questions
                if q.answerable and kind in ("all", q.kind)]
        rows = [r for r in rows if r is not None]
        if rows:
            out[kind] = {"questions": len(rows), "ceiling": round(float(np.mean([r["ceiling"] for r in rows])), 4),
                         "rank1": round(float(np.mean([r["rank"] == 0 for r in rows])), 4),
                         "top3": round(float(np.mean([r["rank"] is not None and r["rank"] < 3 for r in rows])), 4)}
    probability, right = [], []
    for q in questions:
        r = diagnosed.records.get((q.question, q.history))
        if r is not None:
            probability.append(r["probability"])
            right.append(float(q.answerable and r["rank"] == 0))
    out["auc"] = auc(np.array(probability), np.array(right))
    return out


def latency(index: Path, questions: list[Any], k: int, reader: str | None) -> dict[str, Any]:
    """Single questions with a fresh answerer and no sentence vectors cached (cold), then asked again (warm)."""
    answerer = ExtractiveAnswerer(Retriever.load(index), sentence_cache=False, k=k, reader=reader)
    answerer.ask("warm-up question about the news")  # models and index pages in memory
    out: dict[str, Any] = {}
    for label in ("cold", "warm"):
        times = []
        for q in questions:
            t = time.perf_counter()
            answerer.ask(q.question)
            times.append((time.perf_counter() - t) * 1000)
        out[label] = summary(times)
    return out


def summary(times: list[float]) -> dict[str, Any]:
    return {"p50": round(statistics.median(times), 1), "p95": round(m.percentile(times, 95), 1), "n": len(times)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=CACHE / "qa-index")
    parser.add_argument("--from-index", type=Path, default=None, help="copy this NewsArticles index instead of building one")
    parser.add_argument("--questions", type=Path, default=QUESTIONS / "answers-test.jsonl")
    parser.add_argument("--before", default=BEFORE, help=f"git commit of the answerer to compare with (default {BEFORE})")
    parser.add_argument("--reader", default=None, help="the reader to measure (default: the packaged one)")
    parser.add_argument("--results", type=Path, default=RESULTS / "ask.json")
    parser.add_argument("-k", type=int, default=None, help="passages retrieved (default: the answerer's)")
    parser.add_argument("--threads", type=int, default=1, help="encoder CPU threads for questions, as app.py sets them")
    args = parser.parse_args()
    print(build_index(args.index, QUESTIONS, source=args.from_index), file=sys.stderr)
    if args.threads:
        set_threads(args.threads)
    questions, skipped = read_questions(args.questions)
    if skipped:
        raise SystemExit(f"{args.questions}: {len(skipped)} unreadable lines")
    retriever = Retriever.load(args.index)
    overrides = {"k": args.k} if args.k else {}
    answerer = ExtractiveAnswerer(retriever, reader=args.reader, **overrides)
    k = answerer.settings.k
    meta = {"questions_file": str(args.questions.resolve().relative_to(REPO)), "index": "NewsArticles + question-set pages",
            "questions": len(questions), "k": k}

    work = CACHE / "ask-eval"  # the two `qa eval` output directories (results.jsonl, report.md, plots)
    before_dir, after_dir = work / "before", work / "after"
    work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    timing = work / "before-latency.json"
    os.environ["QA_BENCH_THREADS"] = str(args.threads)
    old = before_answers(args.before, args.index, args.questions, work / "before-answers.jsonl", timing)
    old_times = json.loads(timing.read_text())
    before = _replayed(questions, retriever, old)
    write_outputs(before_dir, before, [], {**meta, "answerer": f"commit {args.before}"})
    before_s = time.perf_counter() - t

    t = time.perf_counter()
    diagnosed = Diagnosed(answerer, questions)
    after = evaluate(questions, retriever, ["hybrid"], answer=diagnosed)
    doc = write_outputs(after_dir, after, [], {**meta, "answerer": "this tree"}, ("benchmarks/.cache/ask-eval/before", read_baseline(before_dir)))
    after_s = time.perf_counter() - t
    answerer.vectors.save()
    singles = [q for q in questions if not q.history]
    lat = latency(args.index, singles, k, args.reader)
    lat["before"] = {label: summary(v) for label, v in old_times.items()}

    old_m, new_m = before[0].metrics["answer"], doc["modes"]["hybrid"]["answer"]
    diffs = {c["metric"]: c for c in doc["baseline"]["comparisons"]}
    diag = diagnostics(questions, diagnosed)
    report = {
        "machine": {**machine(), "threads": args.threads}, "questions": meta, "before": args.before,
        "reader": answerer.reader.name, "threshold": answerer.calibration.threshold,
        "before_metrics": old_m, "after_metrics": new_m, "differences": diffs, "diagnostics": diag, "latency_ms": lat,
        "seconds": {"before": round(before_s, 1), "after": round(after_s, 1)},
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(table(old_m, new_m, diffs, lat, diag, len(questions)))
    print(f"wrote {args.results}, {before_dir}/ and {after_dir}/", file=sys.stderr)
    return 0


def _replayed(questions: list[Any], retriever: Retriever, answers: dict[tuple[str, tuple[str, ...]], Answer]) -> Any:
    """`qa eval` over answers given earlier (by question and history), so both runs are scored by the same code."""

    def answer(question: str, mode: str, history: Any) -> Answer:
        return answers.get((question, tuple(t.question for t in history)), Answer("", True, 0.0))

    return evaluate(questions, retriever, ["hybrid"], answer=answer)


def table(old: dict[str, Any], new: dict[str, Any], diffs: dict[str, Any], lat: dict[str, Any], diag: dict[str, Any], n: int) -> str:
    def ci(metric: str) -> str:
        c = diffs.get(metric)
        return f"{c['difference']:+.1%} [{c['ci95'][0]:+.1%}, {c['ci95'][1]:+.1%}]" if c else "-"

    rows = ["| kind | questions | right before | right after | difference [95% CI] | abstained before / after | short EM before / after (n) |",
            "|---|---|---|---|---|---|---|"]
    for kind in KINDS:
        o, a = old["by_kind"].get(kind), new["by_kind"].get(kind)
        if a is None:
            continue
        rows.append(f"| {kind} | {a['questions']} | {o['right']:.1%} | **{a['right']:.1%}** | {ci('right: ' + kind)} "
                    f"| {o['abstained']:.1%} / {a['abstained']:.1%} | {o['em']:.1%} / {a['em']:.1%} ({a['short_expected']}) |")
    rows.append(f"| all | {n} | {old['right']:.1%} | **{new['right']:.1%}** | - | {old['abstained']:.1%} / {new['abstained']:.1%} "
                f"| {old['em']:.1%} / {new['em']:.1%} ({new['short_expected']}) |")
    rows += ["", "| kind | candidate ceiling | right at rank 1 | right within the top 3 |", "|---|---|---|---|"]
    for kind in (*KINDS[:3], "all"):
        d = diag.get(kind)
        if d:
            rows.append(f"| {kind} | {d['ceiling']:.1%} | {d['rank1']:.1%} | {d['top3']:.1%} |")
    rows += ["", f"AUC of the answer's probability (right answers against the rest): {diag['auc']:.3f}",
             f"short-answer EM difference: {ci('short-answer EM')}; answer accuracy (answerable): {ci('answer accuracy')}",
             f"abstention precision / recall: before {old['abstention_precision']:.1%} / {old['abstention_recall']:.1%}, "
             f"after {new['abstention_precision']:.1%} / {new['abstention_recall']:.1%}",
             f"latency (single questions, ms, same run): cold p50 {lat['cold']['p50']:.0f} / p95 {lat['cold']['p95']:.0f} "
             f"(before {lat['before']['cold']['p50']:.0f} / {lat['before']['cold']['p95']:.0f}); warm p50 {lat['warm']['p50']:.0f} / "
             f"p95 {lat['warm']['p95']:.0f} (before {lat['before']['warm']['p50']:.0f} / {lat['before']['warm']['p95']:.0f})"]
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
