"""`qa search`: the passages that best match a query, as text or JSON."""

from __future__ import annotations

import argparse

from qa import config
from qa.cli.common import (
    EXIT_OK, add_filter_args, add_ranking_args, add_search_args, filter_from_args, index_of, print_json,
    ranking_settings,
)
from qa.retrieval import Retriever


def configure_search(p: argparse.ArgumentParser) -> None:
    p.add_argument("query", help="the question or keywords")
    add_search_args(p)
    p.add_argument("--per-article", type=int, default=config.PER_ARTICLE, help="at most N passages of one article (0: no cap)")
    add_ranking_args(p)
    add_filter_args(p)
    p.add_argument("--json", action="store_true", help="print the hits as JSON")


def cmd_search(args: argparse.Namespace) -> int:
    retriever = Retriever.load(index_of(args), mode=args.mode, per_article=args.per_article, **ranking_settings(args))
    hits = retriever.search(args.query, args.k, filter=filter_from_args(args))
    if args.json:
        print_json([h.to_dict() for h in hits])
        return EXIT_OK
    if not hits:
        print("no matching passages")
    for rank, h in enumerate(hits, 1):
        meta = " · ".join(x for x in (h.published, h.source, h.url) if x)
        print(f"{rank}. [{h.score:.3f}] {h.title or h.article_id}  ({h.article_id})")
        if meta:
            print(f"   {meta}")
        print(f"   chars {h.start}-{h.end}: {h.text}\n")
    return EXIT_OK
