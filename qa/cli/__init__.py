"""The `qa` command line: ingest, clean, watch, search, ask, chat, eval, calibrate, list, remove, stats, optimize, migrate, check, demo, mcp."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from qa.cli_args import add_filter_args, add_ranking_args, filter_from_args, ranking_settings
from qa.encoding import BACKENDS
from qa.errors import QAError

log = logging.getLogger("qa")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


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
    parser.add_argument("--index", type=index_location, default=None, help="index folder or backend URI (default: $QA_INDEX_DIR or embeddings/)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (func, configure, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--index", type=index_location, default=argparse.SUPPRESS, help="index folder or backend URI (default: $QA_INDEX_DIR or embeddings/)")
        configure(p)
        p.set_defaults(func=func)
    return parser


def index_location(text: str) -> Any:
    """An --index value: a backend URI (`scheme://...`) kept as written, else a folder path."""
    return text if "://" in text else Path(text)


def _index(args: argparse.Namespace) -> Path:
    from qa.ingest import default_index_dir

    return args.index if args.index is not None else default_index_dir()


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


# -- ingest -------------------------------------------------------------------------------
def _configure_ingest(p: argparse.ArgumentParser) -> None:
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="file, directory, http(s) URL, RSS/Atom feed, .jsonl or .csv")
    p.add_argument("--model", default=None, help="embedding model id or path for a new index (default: all-MiniLM-L6-v2)")
    p.add_argument("--backend", default=None, choices=BACKENDS,
                   help="how the model runs, for a new index (default onnx-int8: fastest on CPU; torch: sentence-transformers as is)")
    p.add_argument("--max-tokens", type=int, default=None, help="chunk size in model tokens, for a new index (default 128)")
    p.add_argument("--overlap", type=int, default=None, help="tokens of overlap between chunks, for a new index (default 16)")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for each URL")
    p.add_argument("--max-article-bytes", type=int, default=None, metavar="N",
                   help="size limit of one article's text (default $QA_MAX_ARTICLE_BYTES or 4000000); a bigger one fails with its size")
    add_clean_arg(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    from qa.ray_cli import add_ray_args

    add_ray_args(p)


def cmd_ingest(args: argparse.Namespace) -> int:
    from qa.chunking import ChunkSettings
    from qa.ingest import ingest, open_encoder
    from qa.sources import read_sources

    index = _index(args)
    settings = None
    if args.max_tokens is not None or args.overlap is not None:
        defaults = ChunkSettings()
        settings = ChunkSettings(args.max_tokens or defaults.max_tokens, args.overlap if args.overlap is not None else defaults.overlap_tokens)
    if args.ray or args.ray_address:
        from qa.ray_cli import ray_ingest_from_args

        report = ray_ingest_from_args(args, read_sources(args.sources, timeout=args.timeout, clean=args.clean, max_article_bytes=args.max_article_bytes), index, settings)
    else:
        encoder = open_encoder(index, args.model, args.backend)
        report = ingest(read_sources(args.sources, timeout=args.timeout, clean=args.clean, max_article_bytes=args.max_article_bytes), index, encoder=encoder, settings=settings, progress=not args.quiet)
    for failure in report.failures:
        print(f"qa: failed: {failure}", file=sys.stderr)
    print(report.summary(), file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_demo(args: argparse.Namespace) -> int:
    from qa.demo import demo_articles
    from qa.ingest import ingest

    report = ingest(demo_articles(args.corpus), _index(args), progress=not args.quiet)
    print(report.summary(), file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FAILED


def _configure_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", default="News100", choices=["News100", "NewsArticles"], help="which demo corpus (default News100)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


# -- search -------------------------------------------------------------------------------
def _configure_search(p: argparse.ArgumentParser) -> None:
    p.add_argument("query", help="the question or keywords")
    p.add_argument("-k", type=int, default=5, help="number of passages (default 5)")
    p.add_argument("--mode", choices=["dense", "bm25", "hybrid"], default="hybrid", help="retrieval method (default hybrid)")
    p.add_argument("--per-article", type=int, default=2, help="at most N passages of one article (0: no cap)")
    add_ranking_args(p)
    add_filter_args(p)
    p.add_argument("--json", action="store_true", help="print the hits as JSON")


def cmd_search(args: argparse.Namespace) -> int:
    from qa.retrieval import Retriever

    retriever = Retriever.load(_index(args), mode=args.mode, per_article=args.per_article, **ranking_settings(args))
    hits = retriever.search(args.query, args.k, filter=filter_from_args(args))
    if args.json:
        _print_json([h.to_dict() for h in hits])
        return EXIT_OK
    if not hits:
        print("no matching passages")
    for rank, h in enumerate(hits, 1):
        meta = " · ".join(x for x in (h.published, h.source, h.url) if x)
        print(f"{rank}. [{h.score:.3f}] {h.title or h.article_id}  ({h.article_id})")
        if meta:
            print(f"   {meta}")
        print(f"   chars {h.start}-{h.end}: {h.text}\n")
    return EXIT_OK


# -- list / remove / stats ----------------------------------------------------------------
def _configure_list(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print as JSON")


def _reader(args: argparse.Namespace) -> Any:
    from qa.stores import open_index

    return open_index(_index(args)).reader()


def cmd_list(args: argparse.Namespace) -> int:
    reader = _reader(args)
    rows = [
        {"id": a.id, "title": a.title, "url": a.url, "published": a.published, "source": a.source, "chars": len(a.text)}
        for a in reader.articles()
    ]
    reader.close()
    if args.json:
        _print_json(rows)
    else:
        for r in rows:
            print("\t".join([r["id"], r["published"] or "-", r["title"] or "(untitled)", r["url"] or r["source"]]))
    return EXIT_OK


def _configure_remove(p: argparse.ArgumentParser) -> None:
    p.add_argument("articles", nargs="+", metavar="ARTICLE_ID_OR_URL")


def cmd_remove(args: argparse.Namespace) -> int:
    from qa.ingest import remove

    missing = remove(args.articles, _index(args))
    for key in missing:
        print(f"qa: not in the index: {key}", file=sys.stderr)
    print(f"removed {len(args.articles) - len(missing)} article(s)", file=sys.stderr)
    return EXIT_FAILED if missing else EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    reader = _reader(args)
    stats = reader.stats()
    reader.close()
    if args.json:
        _print_json(stats)
    else:
        for key, value in stats.items():
            print(f"{key:>20}: {value}")
    return EXIT_OK


# -- optimize / migrate -------------------------------------------------------------------
def _configure_optimize(p: argparse.ArgumentParser) -> None:
    p.add_argument("--vectors", choices=["auto", "exact", "approximate"], default=None,
                   help="vector search of this index from now on: exact, approximate (IVF), or auto "
                        "(exact below 200,000 chunks); recorded in its manifest")
    p.add_argument("--json", action="store_true", help="print the merge report as JSON")


def cmd_optimize(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from qa.stores import open_index

    index = open_index(_index(args))
    index.upgrade()
    index.manifest()  # a clear error when there is no index
    print(f"merging the segments of {index.location}…", file=sys.stderr)
    report = index.optimize(vectors=args.vectors)
    if args.json:
        _print_json(asdict(report))
    print(f"optimized: {report.summary()}", file=sys.stderr)
    return EXIT_OK


def cmd_migrate(args: argparse.Namespace) -> int:
    from qa.stores import open_index

    index = open_index(_index(args))
    if not index.exists():
        index.manifest()  # says there is no index there, and how to build one
    if index.upgrade():
        print(f"migrated {index.location} to the current format", file=sys.stderr)
    else:
        print(f"{index.location} is already in the current format", file=sys.stderr)
    return EXIT_OK


# -- eval ---------------------------------------------------------------------------------
def _configure_eval(p: argparse.ArgumentParser) -> None:
    p.add_argument("questions", type=Path, metavar="QUESTIONS", help="JSONL: question, article_id/url, answers, answerable")
    p.add_argument("--mode", action="append", default=None, help="dense, bm25, hybrid or all (repeatable; default hybrid)")
    p.add_argument("--out", type=Path, default=Path("eval-out"), help="output directory (default eval-out/)")
    p.add_argument("-k", type=int, default=10, help="articles ranked per question (default 10)")
    p.add_argument("--no-answers", action="store_true", help="retrieval metrics only; do not run the answerer")
    p.add_argument("--baseline", type=Path, metavar="DIR",
                   help="the --out directory of an earlier qa eval: report this run's change against it, per mode")
    add_ranking_args(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print metrics.json to stdout")


def cmd_eval(args: argparse.Namespace) -> int:
    from qa.evaluation import default_answerer, evaluate, parse_modes, read_baseline, read_questions
    from qa.report import check_out_dir, write_outputs
    from qa.retrieval import Retriever

    modes = parse_modes(args.mode)
    check_out_dir(args.out)
    baseline = (str(args.baseline), read_baseline(args.baseline)) if args.baseline else None
    questions, skipped = read_questions(args.questions)  # each skipped line is logged as a warning
    if not questions:
        print(f"qa: error: {args.questions} holds no usable question", file=sys.stderr)
        return EXIT_FAILED
    retriever = Retriever.load(_index(args), **ranking_settings(args))
    answer = None if args.no_answers else default_answerer(retriever)
    results = evaluate(questions, retriever, modes, k=args.k, answer=answer, progress=not args.quiet)
    meta = {"questions_file": str(args.questions), "index": str(_index(args)), "questions": len(questions), "k": args.k}
    doc = write_outputs(args.out, results, skipped, meta, baseline)
    if args.json:
        _print_json(doc)
    else:
        for mode, mt in doc["modes"].items():
            print(f"{mode:>6}: recall@1 {mt['recall@1']:.3f}  recall@10 {mt['recall@10']:.3f}  MRR@10 {mt['mrr@10']:.3f}"
                  f"  nDCG@10 {mt['ndcg@10']:.3f}  p50 {mt['latency_ms']['p50']:.1f} ms")
        changes = [(" - ".join(c["modes"]), c) for c in doc["comparisons"]]
        changes += [(f"{c['mode']} vs baseline", c) for c in doc.get("baseline", {}).get("comparisons", [])]
        for label, c in changes:
            low, high = c["ci95"]
            print(f"{label}: {c['metric']} {c['difference']:+.3f} (95% CI {low:+.3f} to {high:+.3f}, {c['questions']} questions)")
    print(f"wrote {args.out}/metrics.json, results.jsonl, report.md and plots", file=sys.stderr)
    return EXIT_OK


from qa.ask_cli import cmd_ask, cmd_calibrate, cmd_chat, configure_ask, configure_calibrate, configure_chat  # noqa: E402
from qa.check_cli import cmd_check, configure_check  # noqa: E402
from qa.clean_cli import add_clean_arg, cmd_clean, configure_clean  # noqa: E402
from qa.integrations.mcp_cli import cmd_mcp, configure_mcp  # noqa: E402
from qa.watch import cmd_watch, configure_watch  # noqa: E402

Command = tuple[Callable[[argparse.Namespace], int], Callable[[argparse.ArgumentParser], None], str]
COMMANDS: dict[str, Command] = {
    "ingest": (cmd_ingest, _configure_ingest, "add articles from files, directories, URLs, feeds or JSONL/CSV"),
    "clean": (cmd_clean, configure_clean, "show what ingest would store for each article and what cleaning removed"),
    "watch": (cmd_watch, configure_watch, "re-read sources on a schedule (--every 15m) and add new or changed articles"),
    "demo": (cmd_demo, _configure_demo, "index the built-in demo news corpus"),
    "search": (cmd_search, _configure_search, "print the passages that best match a query"),
    "ask": (cmd_ask, configure_ask, "answer a question from the articles, with its sources"),
    "chat": (cmd_chat, configure_chat, "a conversation about the articles in the terminal (/new resets, /quit leaves)"),
    "eval": (cmd_eval, _configure_eval, "evaluate retrieval and answers on a JSONL question file"),
    "calibrate": (cmd_calibrate, configure_calibrate, "fit the answer-scoring model on a dev question file, for this index"),
    "list": (cmd_list, _configure_list, "list the indexed articles"),
    "remove": (cmd_remove, _configure_remove, "remove articles by id or URL"),
    "stats": (cmd_stats, _configure_list, "index statistics: articles, chunks, model, segments, size"),
    "optimize": (cmd_optimize, _configure_optimize, "merge the index's segments into one (and choose exact or approximate vectors)"),
    "migrate": (cmd_migrate, lambda p: None, "upgrade an index of an older on-disk format in place"),
    "mcp": (cmd_mcp, configure_mcp, "serve search, ask, list and get tools to an assistant over MCP (stdio)"),
    "check": (cmd_check, configure_check, "verify an index (manifest, catalog, segments and their checksums) and say what is damaged"),
}

if __name__ == "__main__":
    sys.exit(main())
