"""The `qa ask` command: answer one question from the index and print the answer with its sources."""

from __future__ import annotations

import argparse
import json
import textwrap

from qa.cli_args import add_filter_args, add_ranking_args, filter_from_args, ranking_settings


def configure_ask(p: argparse.ArgumentParser) -> None:
    p.add_argument("question", help="the question, in quotes")
    p.add_argument("-k", type=int, default=5, help="number of passages to read (default 5)")
    p.add_argument("--mode", choices=["dense", "bm25", "hybrid"], default="hybrid", help="retrieval method (default hybrid)")
    p.add_argument("--threshold", type=float, default=None, help="abstain below this score (default 0.55, calibrated: see the README)")
    p.add_argument("--json", action="store_true", help="print the typed Answer as JSON")
    add_ranking_args(p)
    add_filter_args(p)


def cmd_ask(args: argparse.Namespace) -> int:
    from qa.answering import Answerer
    from qa.ingest import default_index_dir
    from qa.retrieval import Retriever

    index = args.index if args.index is not None else default_index_dir()
    overrides = {"threshold": args.threshold} if args.threshold is not None else {}
    answerer = Answerer(Retriever.load(index, **ranking_settings(args)), **overrides)
    answer = answerer.ask(args.question, filter=filter_from_args(args), k=args.k, mode=args.mode)
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
        return 0
    print(answer.text if answer.abstained else f"{answer.text}\n(confidence {answer.confidence:.0%})")
    if answer.citations:
        print("\nNearest passages:" if answer.abstained else "\nSources:")
    for n, c in enumerate(answer.citations, 1):
        meta = " · ".join(x for x in (c.published, c.source, c.url) if x)
        print(f"{n}. {c.title or c.article_id} ({c.article_id}) [score {c.score:.3f}]")
        if meta:
            print(f"   {meta}")
        ex = c.excerpt
        marked = ex[: c.answer_start] + "»" + ex[c.answer_start : c.answer_end] + "«" + ex[c.answer_end :] if c.answer_end > c.answer_start else ex
        print(textwrap.indent(textwrap.fill(marked, 100), "   "))
    return 0
