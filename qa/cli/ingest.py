"""The commands that read articles: `qa ingest`, `qa clean` (what ingest would store), `qa watch`, `qa demo`."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import textwrap
import time
from typing import Any

from qa import config
from qa.cli.common import EXIT_FAILED, EXIT_OK, URL_TIMEOUT_HELP, index_of
from qa.errors import ConfigError
from qa.ingest import ingest, open_encoder
from qa.reading.chunking import ChunkSettings
from qa.reading.clean import CLEAN_CHOICES
from qa.reading.demo import CORPORA, demo_articles
from qa.reading.sources import Failure, read_cleaned, read_sources
from qa.watch import DURATION_HELP, Round, format_duration, parse_duration, watch

SOURCES_HELP = "file, directory, http(s) URL, RSS/Atom feed, .jsonl or .csv"


# -- ingest -------------------------------------------------------------------------------
def configure_ingest(p: argparse.ArgumentParser) -> None:
    p.add_argument("sources", nargs="+", metavar="SOURCE", help=SOURCES_HELP)
    p.add_argument("--model", default=None, help=f"embedding model id or path for a new index (default: {_model_name()})")
    p.add_argument("--backend", default=None, choices=config.ENCODER_BACKENDS,
                   help=f"how the model runs, for a new index (default {config.ENCODER_BACKEND}: fastest on CPU; torch: "
                        "sentence-transformers as is)")
    p.add_argument("--max-tokens", type=int, default=None,
                   help=f"chunk size in model tokens, for a new index (default {config.CHUNK_TOKENS})")
    p.add_argument("--overlap", type=int, default=None,
                   help=f"tokens of overlap between chunks, for a new index (default {config.CHUNK_OVERLAP})")
    p.add_argument("--timeout", type=float, default=config.URL_TIMEOUT, help=URL_TIMEOUT_HELP)
    p.add_argument("--max-article-bytes", type=int, default=None, metavar="N",
                   help="size limit of one article's text (default $QA_MAX_ARTICLE_BYTES or 4000000); a bigger one fails with its size")
    add_clean_arg(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_ray_args(p)


def cmd_ingest(args: argparse.Namespace) -> int:
    index = index_of(args)
    settings = None
    if args.max_tokens is not None or args.overlap is not None:
        defaults = ChunkSettings()
        settings = ChunkSettings(args.max_tokens or defaults.max_tokens, args.overlap if args.overlap is not None else defaults.overlap_tokens)
    items = read_sources(args.sources, timeout=args.timeout, clean=args.clean, max_article_bytes=args.max_article_bytes)
    if args.ray or args.ray_address:
        report = ray_ingest_from_args(args, items, index, settings)
    else:
        encoder = open_encoder(index, args.model, args.backend)
        report = ingest(items, index, encoder=encoder, settings=settings, progress=not args.quiet)
    for failure in report.failures:
        print(f"qa: failed: {failure}", file=sys.stderr)
    print(report.summary(), file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FAILED


def _model_name() -> str:
    return config.MODEL.rpartition("/")[2]


# -- ingest --ray ------------------------------------------------------------------------
def add_ray_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("encoding on Ray (the [ray] extra)")
    g.add_argument("--ray", action="store_true", help="encode the chunks with Ray Data actors (a local Ray starts if none runs)")
    g.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="join this Ray cluster (default: $RAY_ADDRESS, else a local Ray)")
    g.add_argument("--ray-actors", type=int, default=None, metavar="N", help="encoder actors (default: one per CPU / threads)")
    g.add_argument("--ray-threads", type=int, default=1, metavar="T", help="encoder threads in each actor (default 1)")
    g.add_argument("--ray-cpus", type=int, default=None, metavar="C", help="CPUs of a local Ray (default: 2 or fewer)")


def ray_ingest_from_args(args: argparse.Namespace, items: Any, index: Any, settings: Any) -> Any:
    """Run `qa ingest --ray` with the parsed arguments; returns the IngestReport."""
    from qa.ray_ingest import ray_ingest  # Ray and the actors' code load only for --ray

    for name in ("ray_actors", "ray_threads", "ray_cpus"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    return ray_ingest(items, index, model=args.model, backend=args.backend, settings=settings, address=args.ray_address,
                      num_cpus=args.ray_cpus, actors=args.ray_actors, threads=args.ray_threads, progress=not args.quiet)


# -- demo ---------------------------------------------------------------------------------
def configure_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", default=config.DEMO_CORPUS, choices=list(CORPORA), help=f"which demo corpus (default {config.DEMO_CORPUS})")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_demo(args: argparse.Namespace) -> int:
    report = ingest(demo_articles(args.corpus), index_of(args), progress=not args.quiet)
    print(report.summary(), file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FAILED


# -- clean --------------------------------------------------------------------------------
CLEAN_HELP = (
    "how much to clean (default auto: page rules for scraped text and HTML pages, only the furniture rules for "
    "JSONL/CSV records, whose own 'clean' field may choose, and feed items); page: furniture rules plus related-story "
    "lists, page edges and bylines; furniture: only certain furniture (share bars, agency codes, follow-us lines, "
    "bare links, credits); none: the text as it is"
)


def add_clean_arg(p: argparse.ArgumentParser) -> None:
    """--clean, shared by `qa ingest` and `qa clean`."""
    p.add_argument("--clean", choices=CLEAN_CHOICES, default=config.CLEAN, help=CLEAN_HELP)


def configure_clean(p: argparse.ArgumentParser) -> None:
    p.add_argument("sources", nargs="+", metavar="SOURCE", help=SOURCES_HELP)
    add_clean_arg(p)
    p.add_argument("--timeout", type=float, default=config.URL_TIMEOUT, help=URL_TIMEOUT_HELP)
    p.add_argument("--json", action="store_true", help="one JSON object per article and line: metadata, text, removed")


def cmd_clean(args: argparse.Namespace) -> int:
    failed = 0
    for item in read_cleaned(args.sources, timeout=args.timeout, clean=args.clean):
        if isinstance(item, Failure):
            failed += 1
            print(f"qa: failed: {item}", file=sys.stderr)
        print(json.dumps(as_json(item), ensure_ascii=False) if args.json else as_text(item), flush=True)
    return 1 if failed else 0


def as_json(item: Any) -> dict[str, Any]:
    """One article (a Cleaned) or Failure as the object `qa clean --json` prints."""
    removed = [r.to_dict() for r in item.removed]
    if not hasattr(item, "article"):
        return {"source": item.source, "error": item.reason, "text": "", "removed": removed}
    a = item.article
    return {
        "source": item.label, "id": a.id, "title": a.title, "published": a.published, "author": a.author,
        "url": a.url, "site": a.source, "clean": item.clean, "safety_net": item.fallback or None,
        "text": a.text, "removed": removed,
    }


def as_text(item: Any) -> str:
    """One article or Failure as `qa clean` prints it for people."""
    if not hasattr(item, "article"):
        lines = [f"== {item.source}", f"   error: {item.reason}"]
    else:
        a = item.article
        lines = [f"== {item.label}  ({a.id})"]
        meta = (("title", a.title), ("published", a.published), ("author", a.author), ("url", a.url), ("site", a.source))
        lines += [f"   {key + ':':<10} {value}" for key, value in meta if value]
        lines.append(f"   {'clean:':<10} {item.clean}")
        if item.fallback:
            lines.append(f"   {'kept:':<10} the text with only furniture removed ({item.fallback})")
        lines += ["-- text", textwrap.indent(a.text, "   ")]
    lines.append(f"-- removed ({len(item.removed)})" if item.removed else "-- removed: nothing")
    for r in item.removed:
        where = f"line {r.line}" + ("" if r.whole_line else ", cut")
        lines.append(f"   {where:<13} [{r.rule}] {r.text}")
    return "\n".join(lines) + "\n"


# -- watch --------------------------------------------------------------------------------
def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def configure_watch(p: argparse.ArgumentParser) -> None:
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="what `qa ingest` reads: files, directories, URLs, feeds, .jsonl, .csv")
    p.add_argument("--every", type=_duration, default=config.WATCH_EVERY, metavar="DURATION",
                   help=f"time between the starts of two rounds: {DURATION_HELP} (default {config.WATCH_EVERY})")
    p.add_argument("--rounds", type=int, default=0, help="stop after this many rounds (default 0: until Ctrl-C or SIGTERM)")
    p.add_argument("--model", default=None, help=f"embedding model id or path, for a new index (default: {_model_name()})")
    p.add_argument("--backend", default=None, choices=config.ENCODER_BACKENDS,
                   help=f"how the model runs, for a new index (default {config.ENCODER_BACKEND})")
    p.add_argument("--timeout", type=float, default=config.URL_TIMEOUT, help=URL_TIMEOUT_HELP)
    p.add_argument("--json", action="store_true", help="print one JSON object per round instead of the summary line")
    p.add_argument("--quiet", action="store_true", help="no progress bar (there is none when stderr is not a terminal)")


def cmd_watch(args: argparse.Namespace) -> int:
    if args.rounds < 0:
        raise ConfigError(f"--rounds must be 0 (no limit) or more, got {args.rounds}")
    index = index_of(args)
    encoder = open_encoder(index, args.model, args.backend)  # once: a wrong model is refused before the first round
    progress = not args.quiet and sys.stderr.isatty()
    every = format_duration(args.every)
    print(f"qa watch: {len(args.sources)} source(s) into {index}, every {every}; Ctrl-C stops", file=sys.stderr, flush=True)

    running, done, failed = 0, 0, False

    def started(number: int) -> None:
        nonlocal running
        running = number
        print(f"round {number}: reading {len(args.sources)} source(s)…", file=sys.stderr, flush=True)

    def finished(r: Round) -> None:
        nonlocal running, done, failed
        running, done = 0, r.number  # first: a signal during the printing below finds the round done
        failed = failed or bool(r.error or r.failures)
        for failure in r.failures:
            print(f"qa: round {r.number}: failed: {failure}", file=sys.stderr, flush=True)
        later = "" if args.rounds and r.number >= args.rounds else time.strftime("; next at %H:%M:%S", time.localtime(max(r.started + args.every, time.time())))
        print(json.dumps(r.to_dict(), ensure_ascii=False) if args.json else r.summary() + later, file=sys.stdout, flush=True)

    previous = _stop_on_signals()
    try:
        watch(args.sources, index, encoder, every=args.every, rounds=args.rounds, timeout=args.timeout,
              progress=progress, on_start=started, on_round=finished)
    except KeyboardInterrupt:
        _restore(previous)
        during = f" during round {running} (what it had not committed was discarded)" if running else ""
        print(f"qa watch: stopped{during} after {done} round(s); the index is intact", file=sys.stderr, flush=True)
        return 0  # stopping is how a watch ends
    _restore(previous)
    return 1 if failed else 0  # --rounds N: like `qa ingest`, 1 when a source or a round failed


def _stop_on_signals() -> dict[int, Any]:
    """SIGTERM stops the watch the way Ctrl-C (SIGINT) does: a KeyboardInterrupt, so the store aborts any write under way."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, stop)
    return previous


def _restore(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
