"""The answering commands: `qa ask` (one question), `qa chat` (a conversation in the terminal), `qa calibrate`."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import TextIO

from qa.cli_args import add_filter_args, add_ranking_args, filter_from_args, ranking_settings
from qa.types import Answer, TextDelta

CHAT_HELP = "Type a question; /new starts a new conversation, /quit (or Ctrl-D) leaves."


def configure_ask(p: argparse.ArgumentParser) -> None:
    p.add_argument("question", help="the question, in quotes")
    _answer_args(p)
    p.add_argument("--json", action="store_true", help="print the typed Answer as JSON")


def configure_chat(p: argparse.ArgumentParser) -> None:
    _answer_args(p)


def _answer_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-k", type=int, default=5, help="number of passages to read (default 5)")
    p.add_argument("--mode", choices=["dense", "bm25", "hybrid"], default="hybrid", help="retrieval method (default hybrid)")
    p.add_argument("--threshold", type=float, default=None,
                   help="abstain when the probability of being right is below this (default: the calibrated one, see the README)")
    add_ranking_args(p)
    add_filter_args(p)


def _answerer(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from qa.answerers import open_answerer
    from qa.ingest import default_index_dir
    from qa.retrieval import Retriever

    index = args.index if args.index is not None else default_index_dir()
    overrides = {"threshold": args.threshold} if args.threshold is not None else {}
    return open_answerer(Retriever.load(index, **ranking_settings(args)), **overrides)


def cmd_ask(args: argparse.Namespace) -> int:
    answerer = _answerer(args)
    answer = answerer.ask(args.question, filter=filter_from_args(args), k=args.k, mode=args.mode)
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
        return 0
    print_answer(answer, sys.stdout)
    return 0


def print_answer(answer: Answer, out: TextIO, *, text: bool = True) -> None:
    """The answer (its short answer after it), how sure, and the sources with the answer marked »…«."""
    if text:
        print(answer.text, file=out)
    if not answer.abstained:
        short = f"{answer.short.text} · " if answer.short else ""
        print(f"({short}confidence {answer.confidence:.0%})", file=out)
    if answer.citations:
        print("\nNearest passages:" if answer.abstained else "\nSources:", file=out)
    for n, c in enumerate(answer.citations, 1):
        meta = " · ".join(x for x in (c.published, c.source, c.url) if x)
        print(f"{n}. {c.title or c.article_id} ({c.article_id}) [score {c.score:.3f}]", file=out)
        if meta:
            print(f"   {meta}", file=out)
        ex = c.excerpt
        marked = ex[: c.answer_start] + "»" + ex[c.answer_start : c.answer_end] + "«" + ex[c.answer_end :] if c.answer_end > c.answer_start else ex
        print(textwrap.indent(textwrap.fill(marked, 100), "   "), file=out)


def cmd_chat(args: argparse.Namespace, stdin: TextIO | None = None, out: TextIO | None = None) -> int:
    """A conversation in the terminal, as `llm chat` does it: each question sees the earlier turns."""
    from qa.conversation import Turn
    from qa.errors import QAError

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
            answer = None
            for event in answerer.stream(question, turns, filter=flt, k=args.k, mode=args.mode):
                if isinstance(event, TextDelta):
                    print(event.text, end="", file=out, flush=True)
                else:
                    answer = event
            print("", file=out)
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


def configure_calibrate(p: argparse.ArgumentParser) -> None:
    p.add_argument("questions", type=Path, metavar="QUESTIONS", help="a dev question file in the `qa eval` format")
    p.add_argument("--precision", type=float, default=None,
                   help="abstain below the probability at which answers were right this often (default: the precision "
                        "that handles the most questions right, averaged over the kinds of question)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit the answer-scoring model on the index's own questions; it is stored in the index, for its model."""
    from qa.answerers import ExtractiveAnswerer
    from qa.answerers.scoring import INDEX_DIR, model_file
    from qa.calibration import collect, fit
    from qa.evaluation import read_questions
    from qa.ingest import default_index_dir
    from qa.retrieval import Retriever

    index = args.index if args.index is not None else default_index_dir()
    questions, _ = read_questions(args.questions)
    answerer = ExtractiveAnswerer(Retriever.load(index))
    examples = collect(answerer, questions, progress=not args.quiet)
    model, report = fit(examples, answerer.retriever.encoder.name, target_precision=args.precision, source=str(args.questions))
    from qa.errors import ConfigError
    from qa.stores import side_folder

    folder = side_folder(index)
    if folder is None:  # an index on a Milvus server has no local folder to keep the model in
        raise ConfigError(f"{index} is on a server: qa calibrate keeps its model beside a local or milvus-lite index")
    path = model.save(model_file(model.encoder, folder / INDEX_DIR))
    oof = report["out_of_fold"]
    print(f"fitted on {report['questions']} questions ({report['candidates']} candidates); threshold {model.threshold:.3f} "
          f"for precision {model.target_precision:.2f}; cross-validated: right {oof['all']['right']:.1%}, "
          f"answer precision {oof['answer_precision']:.1%}", file=sys.stderr)
    print(f"wrote {path}", file=sys.stderr)
    return 0
