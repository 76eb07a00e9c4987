"""Command-line options shared by `qa search`, `qa ask` and `qa eval`: ranking choices and search filters."""

from __future__ import annotations

import argparse
from typing import Any

from qa.types import SearchFilter


def add_ranking_args(p: argparse.ArgumentParser) -> None:
    """--fusion and --rerank."""
    p.add_argument("--fusion", choices=["rrf", "weighted"], default=None, help="how hybrid mode fuses dense and BM25 (default weighted)")
    p.add_argument("--rerank", default=None, metavar="MODEL", help="rescore the top passages with this cross-encoder (id or path)")


def ranking_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The --fusion/--rerank choices as Retriever settings (only those given)."""
    return {k: v for k, v in (("fusion", args.fusion), ("rerank", args.rerank)) if v is not None}


def add_filter_args(p: argparse.ArgumentParser) -> None:
    """--source, --since, --until and --article."""
    p.add_argument("--source", action="append", default=[], help="only this source or site (repeatable)")
    p.add_argument("--since", default="", help="only articles published on or after this date (YYYY-MM-DD)")
    p.add_argument("--until", default="", help="only articles published on or before this date (YYYY-MM-DD)")
    p.add_argument("--article", action="append", default=[], help="only this article, by id or URL (repeatable)")


def filter_from_args(args: argparse.Namespace) -> SearchFilter:
    """The --source/--since/--until/--article options as a SearchFilter (validated when it is used)."""
    return SearchFilter(tuple(args.source), args.since, args.until, tuple(args.article))
