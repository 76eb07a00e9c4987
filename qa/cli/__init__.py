"""The `qa` command line: `main` and `COMMANDS`, one module per group of commands.

ingest.py: ingest, clean, watch, demo; search.py: search; answer.py: ask, chat; eval.py: eval, calibrate;
index.py: list, remove, stats, optimize, migrate, check; mcp.py: mcp; train.py: train-reader; common.py: the options
they share.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Callable, Sequence

from qa.cli.answer import cmd_ask, cmd_chat, configure_ask, configure_chat
from qa.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, INDEX_HELP, index_location
from qa.cli.eval import cmd_calibrate, cmd_eval, configure_calibrate, configure_eval
from qa.cli.index import (
    cmd_check, cmd_list, cmd_migrate, cmd_optimize, cmd_remove, cmd_stats, configure_check, configure_list,
    configure_migrate, configure_optimize, configure_remove,
)
from qa.cli.ingest import cmd_clean, cmd_demo, cmd_ingest, cmd_watch, configure_clean, configure_demo, configure_ingest, configure_watch
from qa.cli.mcp import cmd_mcp, configure_mcp
from qa.cli.search import cmd_search, configure_search
from qa.cli.train import cmd_train_reader, configure_train_reader
from qa.errors import QAError

__all__ = ["COMMANDS", "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "build_parser", "configure_logging", "main"]

log = logging.getLogger("qa")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `qa` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(logging.DEBUG if args.verbose else logging.WARNING, everything=args.verbose)
    try:
        return int(args.func(args) or EXIT_OK)
    except QAError as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:  # `qa search ... | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print("qa: interrupted; the index keeps what was committed before, nothing half-written", file=sys.stderr)
        return 130


def configure_logging(qa_level: int, *, everything: bool = False) -> None:
    """Log to stderr: this package at `qa_level`, other libraries only their warnings (unless `everything`)."""
    logging.basicConfig(level=logging.DEBUG if everything else min(qa_level, logging.WARNING),
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("qa").setLevel(qa_level)

    def keep(record: logging.LogRecord) -> bool:  # bm25s sets its own logger to DEBUG on import
        return everything or record.levelno >= logging.WARNING or record.name.startswith("qa")

    for handler in logging.getLogger().handlers:
        handler.addFilter(keep)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="Question answering over news articles.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    parser.add_argument("--index", type=index_location, default=None, help=INDEX_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (func, configure, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--index", type=index_location, default=argparse.SUPPRESS, help=INDEX_HELP)
        configure(p)
        p.set_defaults(func=func)
    return parser


Command = tuple[Callable[[argparse.Namespace], int], Callable[[argparse.ArgumentParser], None], str]
COMMANDS: dict[str, Command] = {
    "ingest": (cmd_ingest, configure_ingest, "add articles from files, directories, URLs, feeds or JSONL/CSV"),
    "clean": (cmd_clean, configure_clean, "show what ingest would store for each article and what cleaning removed"),
    "watch": (cmd_watch, configure_watch, "re-read sources on a schedule (--every 15m) and add new or changed articles"),
    "demo": (cmd_demo, configure_demo, "index the built-in demo news corpus"),
    "search": (cmd_search, configure_search, "print the passages that best match a query"),
    "ask": (cmd_ask, configure_ask, "answer a question from the articles, with its sources"),
    "chat": (cmd_chat, configure_chat, "a conversation about the articles in the terminal (/new resets, /quit leaves)"),
    "eval": (cmd_eval, configure_eval, "evaluate retrieval and answers on a JSONL question file"),
    "calibrate": (cmd_calibrate, configure_calibrate, "fit the answer-scoring model on a dev question file, for this index"),
    "train-reader": (cmd_train_reader, configure_train_reader,
                     "train the answer reader on the question set (NewsArticles + pages), calibrate it on dev, ship it if better"),
    "list": (cmd_list, configure_list, "list the indexed articles"),
    "remove": (cmd_remove, configure_remove, "remove articles by id or URL"),
    "stats": (cmd_stats, configure_list, "index statistics: articles, chunks, model, segments, size"),
    "optimize": (cmd_optimize, configure_optimize, "merge the index's segments into one (and choose exact or approximate vectors)"),
    "migrate": (cmd_migrate, configure_migrate, "upgrade an index of an older on-disk format in place"),
    "mcp": (cmd_mcp, configure_mcp, "serve search, ask, list and get tools to an assistant over MCP (stdio)"),
    "check": (cmd_check, configure_check, "verify an index (manifest, catalog, segments and their checksums) and say what is damaged"),
}
