"""`qa mcp`: serve the article tools to an assistant over stdio (the server itself is in qa.integrations.mcp)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys

from qa.errors import ConfigError

log = logging.getLogger(__name__)


def configure_mcp(p: argparse.ArgumentParser) -> None:
    """Options of `qa mcp`."""
    p.add_argument("--style", default=None,
                   help="answer style of ask_articles: quoted (sentences taken from the articles; the default) or "
                        "written (by the --llm model, each sentence checked against its sources)")
    p.add_argument("--llm", default=os.environ.get("QA_LLM", ""), metavar="PATH.gguf|URL",
                   help="the language model of written answers: a local GGUF file or an OpenAI-compatible server URL "
                        "(default $QA_LLM); giving one makes written the default style")
    p.add_argument("--llm-model", default=os.environ.get("QA_LLM_MODEL", ""), metavar="NAME",
                   help="the model's name on the --llm server (default $QA_LLM_MODEL)")


def cmd_mcp(args: argparse.Namespace) -> int:
    """Open the index, then serve the tools over stdin/stdout until the client closes the connection."""
    try:
        from qa.integrations.mcp import ArticleTools, build_server
    except ImportError as exc:
        raise ConfigError(f"{exc}") from None
    from qa.answerers import answer_styles
    from qa.cli import _index
    from qa.integrations import open_retriever

    style = args.style or ("written" if args.llm.strip() else "quoted")
    if style == "written" and style not in answer_styles():
        raise ConfigError("written answers (--llm, --style written) are not part of this installation; use --style quoted")
    if style not in answer_styles():
        raise ConfigError(f"--style must be one of {', '.join(answer_styles())}, got {style!r}")
    options = {"generator": args.llm.strip(), "llm_model": args.llm_model} if style == "written" else {}
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the protocol: nothing else may print there
        retriever = open_retriever(_index(args))
        if retriever.is_empty():
            log.warning("the index at %s holds no article yet; add some with `qa ingest`", retriever.location)
        tools = ArticleTools.over(retriever, style, **options)
        if style != "quoted":
            tools.answerer()  # a model that cannot be loaded fails now, not at the first question
    build_server(tools).run("stdio")
    return 0
