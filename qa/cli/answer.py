"""The answering commands: `qa ask` (one question) and `qa chat` (a conversation in the terminal)."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from typing import Iterable, TextIO

from qa import config
from qa.answerers import AnswererProtocol, answer_styles, open_answerer
from qa.answerers.llm import load_generator
from qa.cli.common import (
    EXIT_OK, add_filter_args, add_llm_args, add_ranking_args, add_search_args, filter_from_args, index_of,
    ranking_settings,
)
from qa.conversation import Turn
from qa.errors import ConfigError, QAError
from qa.retrieval import Retriever
from qa.types import Answer, AnswerEvent, Citation, TextDelta

CHAT_HELP = "Type a question; /new starts a new conversation, /quit (or Ctrl-D) leaves."


def configure_ask(p: argparse.ArgumentParser) -> None:
    p.add_argument("question", help="the question, in quotes")
    _answer_args(p)
    p.add_argument("--stream", action="store_true", help="print the answer as it is written (a written answer token by token)")
    p.add_argument("--json", action="store_true", help="print the typed Answer as JSON")


def configure_chat(p: argparse.ArgumentParser) -> None:
    _answer_args(p)


def _answer_args(p: argparse.ArgumentParser) -> None:
    add_search_args(p, what="number of passages to read")
    p.add_argument("--threshold", type=float, default=None,
                   help="abstain when the probability of being right is below this (default: the calibrated one, see docs/answering.md)")
    add_llm_args(p, llm_help="write the answer with this language model, each sentence checked against its sources: a local "
                             "GGUF file or an OpenAI-compatible server URL (default $QA_LLM; none: a quoted answer)")
    p.add_argument("--style", choices=answer_styles(), default=None,
                   help="quoted (a sentence of an article) or written (needs --llm or QA_LLM; the default when one is set)")
    p.add_argument("--max-unsupported", type=float, default=None, metavar="SHARE",
                   help="give the quoted answer instead when more than this share of a written answer's sentences is "
                        "unsupported (default 0: any)")
    add_ranking_args(p)
    add_filter_args(p)


def _answerer(args: argparse.Namespace) -> AnswererProtocol:
    index = index_of(args)
    overrides: dict[str, object] = {"threshold": args.threshold} if args.threshold is not None else {}
    spec = config.llm_spec(args.llm)
    style = args.style or ("written" if spec else config.STYLE)
    if style == config.STYLE:
        return open_answerer(Retriever.load(index, **ranking_settings(args)), **overrides)
    if not spec:
        raise ConfigError("--style written needs a language model: give --llm PATH.gguf or --llm URL (or set QA_LLM)")
    generator = load_generator(spec, config.llm_model(args.llm_model))
    if args.max_unsupported is not None:
        overrides["max_unsupported"] = args.max_unsupported
    return open_answerer(Retriever.load(index, **ranking_settings(args)), "written", generator=generator, **overrides)


def cmd_ask(args: argparse.Namespace) -> int:
    answerer = _answerer(args)
    if args.stream and not args.json:
        answer = _streamed(answerer.stream(args.question, filter=filter_from_args(args), k=args.k, mode=args.mode), sys.stdout)
        print_answer(answer, sys.stdout, text=False)
    else:
        answer = answerer.ask(args.question, filter=filter_from_args(args), k=args.k, mode=args.mode)
        if args.json:
            print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
        else:
            print_answer(answer, sys.stdout)
    if answer.fallback and answer.note:
        print(f"qa: {answer.note}", file=sys.stderr)
    return EXIT_OK


def _streamed(events: Iterable[AnswerEvent], out: TextIO) -> Answer:
    """Print the answer's text as it comes; a written answer that fell back is followed by the quoted one."""
    answer, text = None, ""
    for event in events:
        if isinstance(event, TextDelta):
            print(event.text, end="", file=out, flush=True)
            text += event.text
        else:
            answer = event
    print("", file=out)
    assert answer is not None
    if answer.fallback:  # the draft was shown: the quoted answer replaces it
        print(f"\n({answer.note})\n{answer.text}", file=out)
    return answer


def print_answer(answer: Answer, out: TextIO, *, text: bool = True) -> None:
    """The answer (its short answer after it), how sure, and the sources with the answer marked »…« (a close
    second ›…‹); a written answer's sources are numbered by its [n] markers, each with the sentences that support
    it marked."""
    if text:
        print(answer.text, file=out)
    if not answer.abstained:
        short = f"{answer.short.text} · " if answer.short else ""
        kind = "written from the sources, each sentence checked · " if answer.style == "written" else ""
        print(f"({kind}{short}confidence {answer.confidence:.0%})", file=out)
        if answer.runner_up is not None:
            print(f"(a close second, confidence {answer.runner_up.confidence:.0%}, marked ›…‹ in the sources: "
                  f"{textwrap.shorten(answer.runner_up.text, 100)})", file=out)
    if answer.citations:
        print("\nNearest passages:" if answer.abstained else "\nSources:", file=out)
    groups: dict[int, list[Citation]] = {}
    for n, c in enumerate(answer.citations, 1):
        groups.setdefault(c.marker or n, []).append(c)
    for n, cs in groups.items():
        c = cs[0]
        meta = " · ".join(x for x in (c.published, c.source, c.url) if x)
        label = f"[{n}]" if answer.style == "written" else f"{n}."
        print(f"{label} {c.title or c.article_id} ({c.article_id}) [score {c.score:.3f}]", file=out)
        if meta:
            print(f"   {meta}", file=out)
        spans = [(x.answer_start, x.answer_end, "»", "«") for x in cs] + [(x.runner_up_start, x.runner_up_end, "›", "‹") for x in cs]
        print(textwrap.indent(textwrap.fill(_marked(c.excerpt, spans), 100), "   "), file=out)


def _marked(text: str, spans: list[tuple[int, int, str, str]]) -> str:
    """The text with each span wrapped in its marks (»…« the answer, ›…‹ a close second; overlaps cut)."""
    out, at = [], 0
    for a, b, opening, closing in sorted(s for s in spans if s[1] > s[0]):
        a = max(a, at)
        if b <= a:
            continue
        out.append(text[at:a] + opening + text[a:b] + closing)
        at = b
    return "".join(out) + text[at:]


def cmd_chat(args: argparse.Namespace, stdin: TextIO | None = None, out: TextIO | None = None) -> int:
    """A conversation in the terminal, as `llm chat` does it: each question sees the earlier turns."""
    stdin, out = stdin or sys.stdin, out or sys.stdout
    answerer = _answerer(args)
    flt = filter_from_args(args)
    interactive = stdin.isatty()
    print(f"Chatting with {answerer.retriever.location}. {CHAT_HELP}", file=out)
    turns: list[Turn] = []
    while True:
        if interactive:
            print("> ", end="", file=out, flush=True)
        try:
            line = stdin.readline()
        except KeyboardInterrupt:
            print("", file=out)
            continue
        if not line:  # Ctrl-D
            print("", file=out)
            return 0
        question = line.strip()
        if not question:
            continue
        if not interactive:
            print(f"> {question}", file=out)
        if question in ("/quit", "/exit", "/q"):
            return 0
        if question in ("/new", "/reset"):
            turns = []
            print("(new conversation)", file=out)
            continue
        if question.startswith("/"):
            print(f"unknown command {question}; {CHAT_HELP}", file=out)
            continue
        try:
            answer = _streamed(answerer.stream(question, turns, filter=flt, k=args.k, mode=args.mode), out)
        except QAError as exc:
            print(f"\nqa: {exc}", file=out)
            continue
        except KeyboardInterrupt:
            print("\n(interrupted)", file=out)
            continue
        if answer is not None:
            print_answer(answer, out, text=False)
            print("", file=out)
            turns.append(Turn.of(question, answer))
