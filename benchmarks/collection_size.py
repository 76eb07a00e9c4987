"""Does the answer calibration transfer across collection sizes? `python -m benchmarks.collection_size`.

The questions that name an article (answerable ones and near misses; `--questions`, default the test split) are
asked against indexes of up to four sizes (`--sizes`), each holding the question's own article: that article alone
(1), it with nine other asked articles (10), every asked article (all), and the full benchmark index (full:
NewsArticles plus the pages). For each size it prints how often the answer is right by kind, how many are
answered, the answers' precision and the mean probability (`Answer.confidence`) of right and of wrong answers: a
calibration that transfers keeps right answers' probability, and the share answered, level across sizes. On the
one-article indexes it also asks `--unrelated` standalone questions about other articles (seeded): they should be
abstained. Writes benchmarks/results/collection-size.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import CACHE, REPO, RESULTS, machine
from qa.answerers import ExtractiveAnswerer
from qa.evaluation import evaluate, read_questions
from qa.ingest import ingest
from qa.retrieval import Retriever

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

KINDS = ("first", "followup", "casual", "unanswerable")


def summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    answers = [r["answer"] for r in records]
    given = [a for a in answers if not a["abstained"]]
    right = [a for a in given if a.get("correct")]
    wrong = [a for a in given if not a.get("correct")]
    out: dict[str, Any] = {"questions": len(answers), "answered": round(len(given) / max(1, len(answers)), 4),
                           "answer_precision": round(len(right) / max(1, len(given)), 4),
                           "confidence_right": round(sum(a["confidence"] for a in right) / max(1, len(right)), 4),
                           "confidence_wrong": round(sum(a["confidence"] for a in wrong) / max(1, len(wrong)), 4)}
    for kind in KINDS:
        rated = [a for a in answers if a["kind"] == kind and "right" in a]
        if rated:
            out[kind] = round(sum(a["right"] for a in rated) / len(rated), 4)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=CACHE / "qa-index")
    parser.add_argument("--questions", type=Path, default=REPO / "benchmarks" / "questions" / "answers-test.jsonl")
    parser.add_argument("--out", type=Path, default=RESULTS / "collection-size.json")
    parser.add_argument("--reader", default=None, help="the reader (default: the packaged one)")
    parser.add_argument("--sizes", default="1,10,all,full", help="which of 1, 10, all (every asked article), full")
    parser.add_argument("--unrelated", type=int, default=2, help="questions about other articles asked on each one-article index")
    args = parser.parse_args()
    questions, _ = read_questions(args.questions)
    full = Retriever.load(args.index)
    questions = [q for q in questions if q.relevant]  # near misses too; out-of-corpus questions name no article
    article_ids = sorted({q.relevant[0] for q in questions}, key=lambda a: (not a.startswith("page-"), a))
    articles = {a: full.article(a) for a in article_ids}
    missing = [a for a, art in articles.items() if art is None]
    if missing:
        raise SystemExit(f"articles not in {args.index}: {missing}")
    groups = [article_ids[i : i + 10] for i in range(0, len(article_ids), 10)]
    results: dict[str, Any] = {"machine": machine(), "reader": str(args.reader or "packaged"), "questions_file": str(args.questions),
                               "questions": len(questions), "articles": len(article_ids)}
    standalone = [q for q in questions if q.answerable and not q.history and q.kind in ("first", "casual")]
    rng = random.Random(21)
    unrelated: list[bool] = []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        every: list[tuple[str, str, list[tuple[list[str], Path | None]]]] = [
            ("1", "1 article", [([a], Path(tmp) / f"one-{n}") for n, a in enumerate(article_ids)]),
            ("10", "10 articles", [(g, Path(tmp) / f"ten-{n}") for n, g in enumerate(groups)]),
            ("all", f"{len(article_ids)} articles", [(article_ids, Path(tmp) / "all")]),
            ("full", f"full index ({full.stats()['articles']} articles)", [(article_ids, None)]),
        ]
        sizes = [(label, indexes) for key, label, indexes in every if key in args.sizes.split(",")]
        for label, indexes in sizes:
            records: list[dict[str, Any]] = []
            for ids, path in indexes:
                if path is None:
                    retriever = full
                else:
                    ingest([articles[a] for a in ids], path, encoder=full.encoder)
                    retriever = Retriever.load(path, encoder=full.encoder)
                answerer = ExtractiveAnswerer(retriever, reader=args.reader)
                asked = [q for q in questions if q.relevant[0] in ids]
                [result] = evaluate(asked, retriever, ["hybrid"], answer=lambda q, mode, history: answerer.ask(q, history, mode=mode))
                records += result.records
                if len(ids) == 1 and path is not None:
                    others = [q for q in standalone if q.relevant[0] != ids[0]]
                    unrelated += [answerer.ask(q.question).abstained for q in rng.sample(others, min(args.unrelated, len(others)))]
            results[label] = summary(records)
            rows.append((label, results[label]))
            print(f"{label}: {results[label]}", file=sys.stderr)
    if unrelated:
        results["unrelated_on_one_article"] = {"asked": len(unrelated), "abstained": round(sum(unrelated) / len(unrelated), 4)}
        print(f"questions about other articles, asked on a one-article index: {len(unrelated)}, abstained "
              f"{sum(unrelated) / len(unrelated):.1%}")
    print("| index | right: first | follow-up | casual | unanswerable | answered | answer precision | P(right) of right answers | of wrong answers |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, s in rows:
        print(f"| {label} | " + " | ".join(f"{s.get(k, 0):.1%}" for k in KINDS) +
              f" | {s['answered']:.1%} | {s['answer_precision']:.1%} | {s['confidence_right']:.2f} | {s['confidence_wrong']:.2f} |")
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
