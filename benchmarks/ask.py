"""Benchmark `ask` on News100: latency p50/p95 (cold and warm sentence cache), accuracy, threshold sweep, follow-ups."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from qa.answerers import AnswerSettings  # noqa: E402
from qa.answerers import ExtractiveAnswerer as Answerer  # noqa: E402
from qa.chunking import ChunkSettings  # noqa: E402
from qa.conversation import Turn  # noqa: E402
from qa.encoding import DEFAULT_BACKEND, set_threads  # noqa: E402
from qa.retrieval import Retriever  # noqa: E402
from qa.types import Answer  # noqa: E402


def load_questions(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def correct(q: dict[str, Any], answer: Answer) -> bool:
    """Answerable: not abstained and the answer holds an accepted phrase. Unanswerable: abstained."""
    if not q["answerable"]:
        return answer.abstained
    return not answer.abstained and any(a.lower() in answer.text.lower() for a in q["answers"])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed_pass(index: Path, questions: list[dict[str, Any]], *, cache: bool, warm: bool, k: int) -> dict[str, Any]:
    """One pass over the single questions with a fresh retriever and answerer; latency per ask in ms."""
    answerer = Answerer(Retriever.load(index), sentence_cache=cache, k=k)
    warm_s = 0.0
    if warm:
        t = time.perf_counter()
        answerer.warm()
        warm_s = time.perf_counter() - t
    answerer.ask("warm-up question about the news")  # model and index pages in memory
    times, results = [], []
    for q in questions:
        t = time.perf_counter()
        answer = answerer.ask(q["question"])
        times.append((time.perf_counter() - t) * 1000)
        results.append((q, answer))
    return {"times": times, "results": results, "warm_s": warm_s}


def search_pass(index: Path, questions: list[dict[str, Any]], k: int) -> list[float]:
    """Retrieval alone (what every ask pays before answering), in ms per question."""
    retriever = Retriever.load(index, k=k)
    retriever.search("warm-up question about the news")
    times = []
    for q in questions:
        t = time.perf_counter()
        retriever.search(q["question"])
        times.append((time.perf_counter() - t) * 1000)
    return times


def summary(results: list[tuple[dict[str, Any], Answer]]) -> dict[str, Any]:
    answerable = [(q, a) for q, a in results if q["answerable"]]
    unanswerable = [(q, a) for q, a in results if not q["answerable"]]
    return {
        "accuracy": sum(correct(q, a) for q, a in results) / len(results),
        "answerable_correct": sum(correct(q, a) for q, a in answerable) / max(1, len(answerable)),
        "answerable_abstained": sum(a.abstained for _, a in answerable) / max(1, len(answerable)),
        "evidence_article": sum(bool(a.citations) and a.citations[0].article_id == q["article_id"] for q, a in answerable) / max(1, len(answerable)),
        "unanswerable_abstained": sum(a.abstained for _, a in unanswerable) / max(1, len(unanswerable)),
        "n": len(results),
    }


def sweep(answerer: Answerer, questions: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy at each threshold, from the raw scores (threshold 0: never abstain)."""
    rows = []
    for q in questions:
        a = answerer.ask(q["question"], threshold=0.0)
        rows.append((q, a.score, any(x.lower() in a.text.lower() for x in q["answers"])))
    table = {}
    for t100 in range(30, 81):
        t = t100 / 100
        ok = sum((s >= t and hit) if q["answerable"] else s < t for q, s, hit in rows)
        table[f"{t:.2f}"] = round(ok / len(rows), 4)
    best = max(table.items(), key=lambda kv: (kv[1], -abs(float(kv[0]) - AnswerSettings().threshold)))
    return {"accuracy_by_threshold": table, "best_threshold": float(best[0]), "best_accuracy": best[1],
            "scores": [{"question": q["question"], "answerable": q["answerable"], "score": s, "phrase_found": hit} for q, s, hit in rows]}


def followups(index: Path, items: list[dict[str, Any]], k: int) -> dict[str, Any]:
    """Follow-up questions asked after their first question, with and without query rewriting."""
    answerer = Answerer(Retriever.load(index), k=k)
    out: dict[str, Any] = {}
    for label, rewrite in (("with_rewriting", True), ("without_rewriting", False)):
        ok = found = 0
        for q in items:
            history = []
            for previous in q["history"]:
                first = answerer.ask(previous, history)
                history.append(Turn(previous, "" if first.abstained else first.text, first.query))
            answer = answerer.ask(q["question"], history, rewrite_followups=rewrite)
            ok += correct(q, answer)
            found += any(c.article_id == q["article_id"] for c in answer.citations)
        out[label] = {"accuracy": ok / len(items), "right_article_cited": found / len(items), "n": len(items)}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", type=Path, default=ROOT / ".cache" / "news100-index")
    parser.add_argument("--questions", type=Path, default=ROOT / "questions" / "news100.jsonl")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "ask.json")
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="encoder CPU threads for questions, as app.py sets them (0: one per core)")
    args = parser.parse_args()
    manifest = args.index / "manifest.json"
    wanted = {"backend": DEFAULT_BACKEND, "chunking": asdict(ChunkSettings())}
    built = json.loads(manifest.read_text()) if manifest.exists() else {}
    if any(built.get(key) != value for key, value in wanted.items()):  # missing, or not the default backend and chunking
        import shutil

        from qa.demo import demo_articles
        from qa.ingest import ingest

        print(f"building the News100 index in {args.index} ({DEFAULT_BACKEND} backend, default chunking)", file=sys.stderr)
        shutil.rmtree(args.index, ignore_errors=True)
        ingest(demo_articles("News100"), args.index, progress=True)
    if args.threads:
        set_threads(args.threads)
    questions = load_questions(args.questions)
    single = [q for q in questions if not q.get("history")]
    follow = [q for q in questions if q.get("history")]

    load_before = os.getloadavg()[0]
    cold = timed_pass(args.index, single, cache=False, warm=False, k=args.k)
    warm = timed_pass(args.index, single, cache=True, warm=True, k=args.k)
    search = search_pass(args.index, single, args.k)
    quality = summary(warm["results"])
    calibration = sweep(Answerer(Retriever.load(args.index), k=args.k), single)
    follow_res = followups(args.index, follow, args.k)
    report = {
        "machine": {"cpus": os.cpu_count(), "torch_threads": args.threads or "default", "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2)},
        "settings": {**AnswerSettings().__dict__, "k": args.k},
        "latency_ms": {
            "cold_cache": {"p50": round(statistics.median(cold["times"]), 1), "p95": round(percentile(cold["times"], 95), 1)},
            "warm_cache": {"p50": round(statistics.median(warm["times"]), 1), "p95": round(percentile(warm["times"], 95), 1)},
            "retrieval_only": {"p50": round(statistics.median(search), 1), "p95": round(percentile(search, 95), 1)},
            "warm_up_seconds": round(warm["warm_s"], 1),
        },
        "quality": quality,
        "calibration": calibration,
        "followups": follow_res,
        "answers": [{"question": q["question"], "answer": a.text, "abstained": a.abstained, "score": a.score, "correct": correct(q, a)} for q, a in warm["results"]],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    lat = report["latency_ms"]
    print(f"ask on News100: {len(single)} questions ({sum(q['answerable'] for q in single)} answerable), k={args.k}, "
          f"{os.cpu_count()} CPUs, encoder threads {args.threads or 'default'}, load {load_before:.1f}")
    print("| measure | value |\n|---|---|")
    print(f"| latency p50 / p95, cold sentence cache | {lat['cold_cache']['p50']:.0f} / {lat['cold_cache']['p95']:.0f} ms |")
    print(f"| latency p50 / p95, warm sentence cache | {lat['warm_cache']['p50']:.0f} / {lat['warm_cache']['p95']:.0f} ms |")
    print(f"| of which retrieval alone (query encoding, dense + BM25), p50 / p95 | {lat['retrieval_only']['p50']:.0f} / {lat['retrieval_only']['p95']:.0f} ms |")
    print(f"| accuracy (answer phrase found, or abstained when unanswerable) | {quality['accuracy']:.1%} |")
    print(f"| answerable: correct / abstained / evidence from the right article | {quality['answerable_correct']:.1%} / "
          f"{quality['answerable_abstained']:.1%} / {quality['evidence_article']:.1%} |")
    print(f"| unanswerable: abstained | {quality['unanswerable_abstained']:.1%} |")
    print(f"| best threshold on this set (default {AnswerSettings().threshold}) | {calibration['best_threshold']:.2f} "
          f"({calibration['best_accuracy']:.1%}) |")
    for label, r in follow_res.items():
        print(f"| follow-ups {label.replace('_', ' ')}: accuracy / right article cited | {r['accuracy']:.1%} / {r['right_article_cited']:.1%} |")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
