"""The answering commands: `qa ask` (one question), `qa chat` (a conversation in the terminal), `qa calibrate`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from pathlib import Path
from typing import TextIO

from qa.cli_args import add_filter_args, add_ranking_args, filter_from_args, ranking_settings
from qa.types import Answer, Citation, TextDelta

CHAT_HELP = "Type a question; /new starts a new conversation, /quit (or Ctrl-D) leaves."


def configure_ask(p: argparse.ArgumentParser) -> None:
    p.add_argument("question", help="the question, in quotes")
    _answer_args(p)
    p.add_argument("--stream", action="store_true", help="print the answer as it is written (a written answer token by token)")
    p.add_argument("--json", action="store_true", help="print the typed Answer as JSON")


def configure_chat(p: argparse.ArgumentParser) -> None:
    _answer_args(p)


def _answer_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-k", type=int, default=5, help="number of passages to read (default 5)")
    p.add_argument("--mode", choices=["dense", "bm25", "hybrid"], default="hybrid", help="retrieval method (default hybrid)")
    p.add_argument("--threshold", type=float, default=None,
                   help="abstain when the probability of being right is below this (default: the calibrated one, see docs/answering.md)")
    p.add_argument("--llm", default=None, metavar="PATH.gguf|URL",
                   help="write the answer with this language model, each sentence checked against its sources: a local "
                        "GGUF file or an OpenAI-compatible server URL (default $QA_LLM; none: a quoted answer)")
    p.add_argument("--llm-model", default=None, metavar="NAME", help="the model's name on the --llm server (default $QA_LLM_MODEL)")
    p.add_argument("--style", choices=["quoted", "written"], default=None,
                   help="quoted (a sentence of an article) or written (needs --llm or QA_LLM; the default when one is set)")
    p.add_argument("--max-unsupported", type=float, default=None, metavar="SHARE",
                   help="give the quoted answer instead when more than this share of a written answer's sentences is "
                        "unsupported (default 0: any)")
    add_ranking_args(p)
    add_filter_args(p)


def _answerer(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from qa.answerers import open_answerer
    from qa.ingest import default_index_dir
    from qa.retrieval import Retriever

    index = args.index if args.index is not None else default_index_dir()
    overrides: dict[str, object] = {"threshold": args.threshold} if args.threshold is not None else {}
    spec = (args.llm if args.llm is not None else os.environ.get("QA_LLM", "")).strip()
    style = args.style or ("written" if spec else "quoted")
    if style == "quoted":
        return open_answerer(Retriever.load(index, **ranking_settings(args)), **overrides)
    from qa.answerers.llm import load_generator
    from qa.errors import ConfigError

    if not spec:
        raise ConfigError("--style written needs a language model: give --llm PATH.gguf or --llm URL (or set QA_LLM)")
    generator = load_generator(spec, args.llm_model if args.llm_model is not None else os.environ.get("QA_LLM_MODEL", ""))
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
    return 0


def _streamed(events, out: TextIO) -> Answer:  # type: ignore[no-untyped-def]
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
    """The answer (its short answer after it), how sure, and the sources with the answer marked »…«; a written
    answer's sources are numbered by its [n] markers, each with the sentences that support it marked."""
    if text:
        print(answer.text, file=out)
    if not answer.abstained:
        short = f"{answer.short.text} · " if answer.short else ""
        kind = "written from the sources, each sentence checked · " if answer.style == "written" else ""
        print(f"({kind}{short}confidence {answer.confidence:.0%})", file=out)
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
        print(textwrap.indent(textwrap.fill(_marked(c.excerpt, [(x.answer_start, x.answer_end) for x in cs]), 100), "   "), file=out)


def _marked(text: str, spans: list[tuple[int, int]]) -> str:
    """The text with each span wrapped in »…« (overlapping spans merged)."""
    out, at = [], 0
    for a, b in sorted(s for s in spans if s[1] > s[0]):
        a = max(a, at)
        if b <= a:
            continue
        out.append(text[at:a] + "»" + text[a:b] + "«")
        at = b
    return "".join(out) + text[at:]


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


def configure_calibrate(p: argparse.ArgumentParser) -> None:
    p.add_argument("questions", type=Path, metavar="QUESTIONS", help="a dev question file in the `qa eval` format")
    p.add_argument("--precision", type=float, default=None,
                   help="abstain below the probability at which answers were right this often (default: the precision "
                        "that handles the most questions right, averaged over the kinds of question)")
    p.add_argument("--features", choices=("current", "invariant"), default="current",
                   help="current: the features of the model the index answers with now (the packaged recipe); "
                        "invariant: all but the retrieval's ranks and scores (round 2's size-independent set, "
                        "benchmarks/fit_answerer.py; it scored lower on the held-out split, docs/answers.md)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit the answer-scoring model on the index's own questions; it is stored in the index, for its model."""
    from qa.answerers import ExtractiveAnswerer
    from qa.answerers.scoring import INDEX_DIR, model_file
    from qa.calibration import INVARIANT_FEATURES, collect, fit
    from qa.evaluation import read_questions
    from qa.ingest import default_index_dir
    from qa.retrieval import Retriever

    index = args.index if args.index is not None else default_index_dir()
    questions, _ = read_questions(args.questions)
    answerer = ExtractiveAnswerer(Retriever.load(index))
    examples = collect(answerer, questions, progress=not args.quiet)
    features = answerer.model.features if args.features == "current" else INVARIANT_FEATURES
    model, report = fit(examples, answerer.retriever.encoder.name, target_precision=args.precision, source=str(args.questions),
                        features=features)
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
