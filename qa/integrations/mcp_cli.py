"""`qa mcp`: serve the article tools to an assistant over stdio (the server itself is in qa.integrations.mcp)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys

from qa.errors import ConfigError

log = logging.getLogger(__name__)


def configure_mcp(p: argparse.ArgumentParser) -> None:
    """Options of `qa mcp`."""
    p.add_argument("--style", default="quoted",
                   help="answer style of ask_articles (default quoted: sentences taken from the articles)")


def cmd_mcp(args: argparse.Namespace) -> int:
    """Open the index, then serve the tools over stdin/stdout until the client closes the connection."""
    try:
        from qa.integrations.mcp import ArticleTools, build_server
    except ImportError as exc:
        raise ConfigError(f"{exc}") from None
    from qa.answerers import answer_styles
    from qa.cli import _index
    from qa.integrations import open_retriever

    if args.style not in answer_styles():
        raise ConfigError(f"--style must be one of {', '.join(answer_styles())}, got {args.style!r}")
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the protocol: nothing else may print there
        retriever = open_retriever(_index(args))
        if retriever.is_empty():
            log.warning("the index at %s holds no article yet; add some with `qa ingest`", retriever.location)
    build_server(ArticleTools.over(retriever, args.style)).run("stdio")
    return 0
