"""`qa mcp`: serve the article tools to an assistant over stdio (the server itself is in qa.integrations.mcp)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys

from qa import config
from qa.answerers import answer_styles
from qa.cli.common import EXIT_OK, add_llm_args, index_of
from qa.errors import ConfigError
from qa.integrations import open_retriever

log = logging.getLogger(__name__)


def configure_mcp(p: argparse.ArgumentParser) -> None:
    """Options of `qa mcp`."""
    p.add_argument("--style", default=None,
                   help="answer style of ask_articles: quoted (sentences taken from the articles; the default) or "
                        "written (by the --llm model, each sentence checked against its sources)")
    add_llm_args(p, llm_help="the language model of written answers: a local GGUF file or an OpenAI-compatible server URL "
                             "(default $QA_LLM); giving one makes written the default style")


def cmd_mcp(args: argparse.Namespace) -> int:
    """Open the index, then serve the tools over stdin/stdout until the client closes the connection."""
    try:
        from qa.integrations.mcp import ArticleTools, build_server  # the [mcp] extra: only this command needs it
    except ImportError as exc:
        raise ConfigError(f"{exc}") from None
    spec = config.llm_spec(args.llm)
    style = args.style or ("written" if spec else config.STYLE)
    if style == "written" and style not in answer_styles():
        raise ConfigError("written answers (--llm, --style written) are not part of this installation; use --style quoted")
    if style not in answer_styles():
        raise ConfigError(f"--style must be one of {', '.join(answer_styles())}, got {style!r}")
    options = {"generator": spec, "llm_model": config.llm_model(args.llm_model)} if style == "written" else {}
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the protocol: nothing else may print there
        retriever = open_retriever(index_of(args))
        if retriever.is_empty():
            log.warning("the index at %s holds no article yet; add some with `qa ingest`", retriever.location)
        tools = ArticleTools.over(retriever, style, **options)
        if style != config.STYLE:
            tools.answerer()  # a model that cannot be loaded fails now, not at the first question
    build_server(tools).run("stdio")
    return EXIT_OK
