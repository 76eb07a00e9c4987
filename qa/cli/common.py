"""What the `qa` commands share: exit codes, --index, the search options (-k, --mode, --fusion, --rerank), the
filters (--source, --since, --until, --article), the language model (--llm, --llm-model) and JSON output."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from qa import config
from qa.types import SearchFilter

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
INDEX_HELP = "index folder or backend URI (default: $QA_INDEX_DIR or embeddings/)"
URL_TIMEOUT_HELP = "seconds to wait for each URL"


def index_location(text: str) -> Any:
    """An --index value: a backend URI (`scheme://...`) kept as written, else a folder path."""
    return text if "://" in text else Path(text)


def index_of(args: argparse.Namespace) -> Any:
    """The --index given (before or after the command), else the default index (`config.default_index_dir`)."""
    return args.index if args.index is not None else config.default_index_dir()


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def add_search_args(p: argparse.ArgumentParser, *, what: str = "number of passages") -> None:
    """-k and --mode, defaults from `qa.config`."""
    p.add_argument("-k", type=int, default=config.K, help=f"{what} (default {config.K})")
    p.add_argument("--mode", choices=config.MODES, default=config.MODE, help=f"retrieval method (default {config.MODE})")


def add_ranking_args(p: argparse.ArgumentParser) -> None:
    """--fusion and --rerank."""
    p.add_argument("--fusion", choices=config.FUSIONS, default=None,
                   help=f"how hybrid mode fuses dense and BM25 (default {config.FUSION})")
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


def add_llm_args(p: argparse.ArgumentParser, *, llm_help: str) -> None:
    """--llm and --llm-model; unset, they are `$QA_LLM` and `$QA_LLM_MODEL` (`config.llm_spec`, `config.llm_model`)."""
    p.add_argument("--llm", default=None, metavar="PATH.gguf|URL", help=llm_help)
    p.add_argument("--llm-model", default=None, metavar="NAME", help="the model's name on the --llm server (default $QA_LLM_MODEL)")
