"""Benchmark the answerer on the test split, by kind of question, before and after: `python benchmarks/ask.py`.

The index is NewsArticles plus the scraped pages of the question set (each re-id'd `page-<stem>`). The questions
are `benchmarks/questions/answers-test.jsonl` (the model was fitted on the dev split only). "Before" is the answerer
of an earlier commit (`--before`, default the commit this work started from), run on the same questions and index
through its own API (benchmarks/replay_answers.py); "after" is this tree's. Both go through `qa eval`'s metrics;
the differences have paired-bootstrap 95% intervals (`qa eval --baseline`). Latency: single questions answered
with no sentence vectors cached (cold) and again (warm), both answerers in the same run. Writes
benchmarks/results/ask.json, and the two `qa eval` output directories in benchmarks/.cache/ask-eval/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from baseline import extract_qa  # noqa: E402
from qa import metrics as m  # noqa: E402
from qa.answerers import ExtractiveAnswerer  # noqa: E402
from qa.encoding import set_threads  # noqa: E402
from qa.evaluation import evaluate, read_baseline, read_questions  # noqa: E402
from qa.report import write_outputs  # noqa: E402
from qa.retrieval import Retriever  # noqa: E402
from qa.store import MANIFEST  # noqa: E402
from qa.types import Answer, Citation, ShortAnswer  # noqa: E402

BEFORE = "d82e8d1"  # main when the answer-quality work began (hand-weighted score, threshold 0.55)
KINDS = ("first", "followup", "casual", "unanswerable")


def build_index(index: Path, source: Path | None) -> None:
    """NewsArticles (copied from `source` when given, else ingested) plus the question set's pages (those of the
    dev and test questions, `pages/`, and those of the training questions, `train-pages/`)."""
    from qa.ingest import ingest
    from qa.sources import read_sources

    if not (index / MANIFEST).exists():
        if source is not None:
            shutil.copytree(source, index, ignore=shutil.ignore_patterns(".lock", "sentence-cache", "answer-models"))
        else:
            from qa.demo import demo_articles

            print(f"building the NewsArticles index in {index} (about 10 minutes on 2 cores)", file=sys.stderr)
            ingest(demo_articles("NewsArticles"), index, progress=True)
    pages = []
    for path in sorted((ROOT / "questions").glob("pages/*.txt")) + sorted((ROOT / "questions").glob("train-pages/*.txt")):
        pages += [replace(a, id=f"page-{path.stem}") for a in read_sources([str(path)])]
    print(ingest(pages, index).summary(), file=sys.stderr)


def before_answers(ref: str, index: Path, questions: Path, out: Path, timing: Path) -> dict[tuple[str, tuple[str, ...]], Answer]:
    """The earlier answerer's answers by (question, history): its `qa/` extracted from git, run in a subprocess
    (which also times its single questions, cold and warm, into `timing`)."""
    with tempfile.TemporaryDirectory() as tree:
        extract_qa(ref, Path(tree), hint="give --before a commit of this repository")
        env = {**os.environ, "PYTHONPATH": tree}
        subprocess.run([sys.executable, str(ROOT / "replay_answers.py"), str(index), str(questions), str(out), str(timing)],
                       check=True, env=env)
    answers = {}
    for line in out.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        a = row["answer"]
        citations = [Citation(**{k: v for k, v in c.items() if k in Citation.__dataclass_fields__}) for c in a["citations"]]
        short = ShortAnswer(**a["short"]) if a.get("short") else None
        answers[(row["question"], tuple(row["history"]))] = Answer(a["text"], a["abstained"], a["confidence"], citations, a.get("query", ""), a.get("score", 0.0), short)
    return answers


def latency(index: Path, questions: list[Any], k: int) -> dict[str, Any]:
    """Single questions with a fresh answerer and no sentence vectors cached (cold), then asked again (warm)."""
    answerer = ExtractiveAnswerer(Retriever.load(index), sentence_cache=False, k=k)
    answerer.ask("warm-up question about the news")  # models and index pages in memory
    out: dict[str, Any] = {}
    for label in ("cold", "warm"):
        times = []
        for q in questions:
            t = time.perf_counter()
            answerer.ask(q.question)
            times.append((time.perf_counter() - t) * 1000)
        out[label] = {"p50": round(statistics.median(times), 1), "p95": round(m.percentile(times, 95), 1), "n": len(times)}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=ROOT / ".cache" / "qa-index")
    parser.add_argument("--from-index", type=Path, default=None, help="copy this NewsArticles index instead of building one")
    parser.add_argument("--questions", type=Path, default=ROOT / "questions" / "answers-test.jsonl")
    parser.add_argument("--before-index", type=Path, default=None,
                        help="the index the earlier answerer reads (a copy in its own format, when the format changed since)")
    parser.add_argument("--before", default=BEFORE, help=f"git commit of the answerer to compare with (default {BEFORE})")
    parser.add_argument("--results", type=Path, default=ROOT / "results")
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="encoder CPU threads for questions, as app.py sets them")
    args = parser.parse_args()
    build_index(args.index, args.from_index)
    if args.threads:
        set_threads(args.threads)
    questions, skipped = read_questions(args.questions)
    if skipped:
        raise SystemExit(f"{args.questions}: {len(skipped)} unreadable lines")
    retriever = Retriever.load(args.index)
    meta = {"questions_file": str(args.questions.relative_to(ROOT.parent)), "index": "NewsArticles + question-set pages",
            "questions": len(questions), "k": args.k}

    work = ROOT / ".cache" / "ask-eval"  # the two `qa eval` output directories (results.jsonl, report.md, plots)
    before_dir, after_dir = work / "before", work / "after"
    work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    timing = work / "before-latency.json"
    os.environ["QA_BENCH_THREADS"] = str(args.threads)
    old = before_answers(args.before, args.before_index or args.index, args.questions, work / "before-answers.jsonl", timing)
    old_times = json.loads(timing.read_text())
    before = _replayed(questions, retriever, old)
    write_outputs(before_dir, before, [], {**meta, "answerer": f"commit {args.before}"})
    before_s = time.perf_counter() - t

    t = time.perf_counter()
    answerer = ExtractiveAnswerer(retriever, k=args.k)
    after = evaluate(questions, retriever, ["hybrid"], answer=lambda q, mode, history: answerer.ask(q, history, mode=mode))
    doc = write_outputs(after_dir, after, [], {**meta, "answerer": "this tree"}, ("benchmarks/.cache/ask-eval/before", read_baseline(before_dir)))
    after_s = time.perf_counter() - t
    answerer.vectors.save()
    singles = [q for q in questions if not q.history]
    lat = latency(args.index, singles, args.k)
    lat["before"] = {label: {"p50": round(statistics.median(v), 1), "p95": round(m.percentile(v, 95), 1), "n": len(v)}
                     for label, v in old_times.items()}

    old_m, new_m = before[0].metrics["answer"], doc["modes"]["hybrid"]["answer"]
    diffs = {c["metric"]: c for c in doc["baseline"]["comparisons"]}
    report = {
        "machine": {"cpus": os.cpu_count(), "load": round(os.getloadavg()[0], 2), "threads": args.threads},
        "questions": meta, "before": args.before, "model": answerer.model.fitted_on.get("source", ""),
        "threshold": answerer.model.threshold, "target_precision": answerer.model.target_precision,
        "before_metrics": old_m, "after_metrics": new_m, "differences": diffs, "latency_ms": lat,
        "seconds": {"before": round(before_s, 1), "after": round(after_s, 1)},
    }
    (args.results / "ask.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(table(old_m, new_m, diffs, lat, len(questions)))
    print(f"wrote {args.results / 'ask.json'}, {before_dir}/ and {after_dir}/", file=sys.stderr)
    return 0


def _replayed(questions: list[Any], retriever: Retriever, answers: dict[tuple[str, tuple[str, ...]], Answer]) -> Any:
    """`qa eval` over answers given earlier (by question and history), so both runs are scored by the same code."""

    def answer(question: str, mode: str, history: Any) -> Answer:
        return answers.get((question, tuple(t.question for t in history)), Answer("", True, 0.0))

    return evaluate(questions, retriever, ["hybrid"], answer=answer)


def table(old: dict[str, Any], new: dict[str, Any], diffs: dict[str, Any], lat: dict[str, Any], n: int) -> str:
    def ci(metric: str) -> str:
        c = diffs.get(metric)
        return f"{c['difference']:+.1%} [{c['ci95'][0]:+.1%}, {c['ci95'][1]:+.1%}]" if c else "-"

    rows = ["| kind | questions | right before | right after | difference [95% CI] | short EM before / after (n) | short F1 after | p50 ms after |",
            "|---|---|---|---|---|---|---|---|"]
    for kind in KINDS:
        o, a = old["by_kind"].get(kind), new["by_kind"].get(kind)
        if a is None:
            continue
        rows.append(f"| {kind} | {a['questions']} | {o['right']:.1%} | **{a['right']:.1%}** | {ci('right: ' + kind)} "
                    f"| {o['em']:.1%} / {a['em']:.1%} ({a['short_expected']}) | {a['f1']:.1%} | {a['latency_ms']['p50']:.0f} |")
    rows.append(f"| all | {n} | {old['right']:.1%} | **{new['right']:.1%}** | - | {old['em']:.1%} / {new['em']:.1%} "
                f"({new['short_expected']}) | {new['f1']:.1%} | {new['latency_ms']['p50']:.0f} |")
    rows += ["", f"short-answer EM difference: {ci('short-answer EM')}; answer accuracy (answerable): {ci('answer accuracy')}",
             f"abstention precision / recall: before {old['abstention_precision']:.1%} / {old['abstention_recall']:.1%}, "
             f"after {new['abstention_precision']:.1%} / {new['abstention_recall']:.1%}",
             f"latency (single questions, ms, same run): cold p50 {lat['cold']['p50']:.0f} / p95 {lat['cold']['p95']:.0f} "
             f"(before {lat['before']['cold']['p50']:.0f} / {lat['before']['cold']['p95']:.0f}); warm p50 {lat['warm']['p50']:.0f} / "
             f"p95 {lat['warm']['p95']:.0f} (before {lat['before']['warm']['p50']:.0f} / {lat['before']['warm']['p95']:.0f})"]
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
