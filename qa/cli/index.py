"""The commands that look after an index: `qa list`, `remove`, `stats`, `optimize`, `migrate` and `check`."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from qa import config
from qa.cli.common import EXIT_FAILED, EXIT_OK, index_of, print_json
from qa.ingest import remove
from qa.stores import IndexReader, open_index


def configure_list(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print as JSON")


def _reader(args: argparse.Namespace) -> IndexReader:
    return open_index(index_of(args)).reader()


def cmd_list(args: argparse.Namespace) -> int:
    reader = _reader(args)
    rows = [
        {"id": a.id, "title": a.title, "url": a.url, "published": a.published, "source": a.source, "chars": len(a.text)}
        for a in reader.articles()
    ]
    reader.close()
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            print("\t".join([r["id"], r["published"] or "-", r["title"] or "(untitled)", r["url"] or r["source"]]))
    return EXIT_OK


def configure_remove(p: argparse.ArgumentParser) -> None:
    p.add_argument("articles", nargs="+", metavar="ARTICLE_ID_OR_URL")


def cmd_remove(args: argparse.Namespace) -> int:
    missing = remove(args.articles, index_of(args))
    for key in missing:
        print(f"qa: not in the index: {key}", file=sys.stderr)
    print(f"removed {len(args.articles) - len(missing)} article(s)", file=sys.stderr)
    return EXIT_FAILED if missing else EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    reader = _reader(args)
    stats = reader.stats()
    reader.close()
    if args.json:
        print_json(stats)
    else:
        for key, value in stats.items():
            print(f"{key:>20}: {value}")
    return EXIT_OK


def configure_optimize(p: argparse.ArgumentParser) -> None:
    p.add_argument("--vectors", choices=config.VECTOR_INDEXES, default=None,
                   help="vector search of this index from now on: exact, approximate (IVF), or auto "
                        "(exact below 200,000 chunks); recorded in its manifest")
    p.add_argument("--json", action="store_true", help="print the merge report as JSON")


def cmd_optimize(args: argparse.Namespace) -> int:
    index = open_index(index_of(args))
    index.upgrade()
    index.manifest()  # a clear error when there is no index
    print(f"merging the segments of {index.location}…", file=sys.stderr)
    report = index.optimize(vectors=args.vectors)
    if args.json:
        print_json(asdict(report))
    print(f"optimized: {report.summary()}", file=sys.stderr)
    return EXIT_OK


def configure_migrate(p: argparse.ArgumentParser) -> None:
    """`qa migrate` takes no options of its own."""


def cmd_migrate(args: argparse.Namespace) -> int:
    index = open_index(index_of(args))
    if not index.exists():
        index.manifest()  # says there is no index there, and how to build one
    if index.upgrade():
        print(f"migrated {index.location} to the current format", file=sys.stderr)
    else:
        print(f"{index.location} is already in the current format", file=sys.stderr)
    return EXIT_OK


def configure_check(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="the report as one JSON object")


def cmd_check(args: argparse.Namespace) -> int:
    """Verify an index and say what is damaged (exit code 1 when anything is)."""
    report = open_index(index_of(args)).check()
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))  # ASCII-escaped, as `qa check --json` always printed
    else:
        for note in report.notes:
            print(f"note: {note}", file=sys.stderr)
        for file, problem in report.damaged:
            print(f"damaged: {Path(report.root) / file}: {problem}")
        state = f"{report.articles} articles, {report.chunks} chunks at version {report.version}"
        if report.ok:
            print(f"ok: {len(report.checked)} files checked in {report.root} ({state})")
        else:
            print(f"{len(report.damaged)} of {len(report.checked)} files damaged in {report.root}. Restore them from a "
                  "backup, or rebuild the index (`qa ingest` the sources into a new --index folder).")
    return EXIT_OK if report.ok else EXIT_FAILED
