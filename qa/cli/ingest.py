"""The `qa clean` command: what ingest would store for each article, and every removal with its rule; stores nothing."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from typing import Any

from qa.clean import CLEAN_CHOICES

CLEAN_HELP = (
    "how much to clean (default auto: page rules for scraped text and HTML pages, only the furniture rules for "
    "JSONL/CSV records, whose own 'clean' field may choose, and feed items); page: furniture rules plus related-story "
    "lists, page edges and bylines; furniture: only certain furniture (share bars, agency codes, follow-us lines, "
    "bare links, credits); none: the text as it is"
)


def add_clean_arg(p: argparse.ArgumentParser) -> None:
    """--clean, shared by `qa ingest` and `qa clean`."""
    p.add_argument("--clean", choices=CLEAN_CHOICES, default="auto", help=CLEAN_HELP)


def configure_clean(p: argparse.ArgumentParser) -> None:
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="file, directory, http(s) URL, RSS/Atom feed, .jsonl or .csv")
    add_clean_arg(p)
    p.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for each URL")
    p.add_argument("--json", action="store_true", help="one JSON object per article and line: metadata, text, removed")


def cmd_clean(args: argparse.Namespace) -> int:
    from qa.sources import Failure, read_cleaned

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
