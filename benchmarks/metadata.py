"""Metadata of scraped pages: how often the title, published date and author that `qa clean` shows are right.

Runs `qa.reading.sources.read_cleaned` (what `qa ingest` and `qa clean` read with) over the test-written page
shapes in tests/metadata_pages.py (news agencies, British and American papers, local papers,
broadcasters, magazines, blogs, text files), each saved as a .txt file, and compares the article's
title, published date and author with what a reader sees on the page. Also checks that each page's
listed article lines stay in the text. The "before" column is the cleaner at --baseline (a git
revision, default main before this work), measured in the same run from a `git archive` of its qa/.

These shapes are the dev set the rules were written against; they are not a held-out measure.

    python -m benchmarks.metadata [--baseline REV] [--verbose]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.baseline import extract_qa
from benchmarks.common import qa_module, run_with_qa
from tests.metadata_pages import PAGES

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "metadata.json"
BASELINE = "9fa44ec"  # main after issue 16, before the metadata work
FIELDS = ("title", "published", "author")


def measure() -> dict[str, Any]:
    """Each page's metadata as the qa/ first on the path (_run's) reads it."""
    read_cleaned = qa_module("qa.reading.sources", "qa.sources").read_cleaned

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for page in PAGES:
            path = Path(tmp) / "page.txt"  # a neutral name: a title made from it is wrong
            path.write_text(page.text, encoding="utf-8")
            [item] = list(read_cleaned([str(path)]))
            article = getattr(item, "article", None)
            got = {f: getattr(article, f, "") for f in FIELDS}
            text = article.text if article else ""
            out[page.name] = {
                "got": got,
                "want": {f: getattr(page, f) for f in FIELDS},
                "article_kept": all(line in text for line in page.article),
            }
    return out


def _score(run: dict[str, Any]) -> dict[str, Any]:
    right = {f: sum(r["got"][f] == r["want"][f] for r in run.values()) for f in FIELDS}
    right["all three"] = sum(all(r["got"][f] == r["want"][f] for f in FIELDS) for r in run.values())
    right["article lines kept"] = sum(r["article_kept"] for r in run.values())
    return {"pages": len(run), "right": right}


def _wilson(k: int, n: int) -> tuple[float, float]:
    if not n:
        return 1.0, 1.0
    p, z = k / n, 1.96
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def table(before: dict[str, Any] | None, after: dict[str, Any]) -> str:
    """One row per field: right out of the pages, with a 95% Wilson interval, before and after."""
    runs = [("before", before), ("after", after)] if before else [("after", after)]
    scores = [(label, _score(run)) for label, run in runs]
    n = scores[-1][1]["pages"]
    lines = [f"| field ({n} page shapes) | {' | '.join(label for label, _ in scores)} |", f"|---|{'---|' * len(scores)}"]
    for field in (*FIELDS, "all three", "article lines kept"):
        cells = []
        for _, score in scores:
            k = score["right"][field]
            low, high = _wilson(k, n)
            cells.append(f"{k}/{n} ({100 * k / n:.0f}% [{100 * low:.0f}, {100 * high:.0f}])")
        lines.append(f"| {field} | {' | '.join(cells)} |")
    return "\n".join(lines)


def misses(run: dict[str, Any]) -> list[str]:
    """Every field that is wrong, as 'page: field got … want …'."""
    return [
        f"{name}: {f} {r['got'][f]!r} (want {r['want'][f]!r})"
        for name, r in run.items() for f in FIELDS if r["got"][f] != r["want"][f]
    ] + [f"{name}: an article line was lost" for name, r in run.items() if not r["article_kept"]]


def _run(qa_path: Path, out: Path) -> dict[str, Any]:
    run_with_qa(qa_path, "benchmarks.metadata", "--measure-only", str(out), HF_HUB_OFFLINE="1")
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help=f"git revision of the 'before' cleaner (default {BASELINE}; 'none' to skip)")
    parser.add_argument("--verbose", action="store_true", help="list every wrong field")
    parser.add_argument("--measure-only", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_only:  # in the child of _run, with its qa/ first on the path
        args.measure_only.write_text(json.dumps(measure()))
        return
    with tempfile.TemporaryDirectory() as tmp:
        before = None
        if args.baseline != "none":
            old = extract_qa(args.baseline, Path(tmp) / "baseline")
            before = _run(old, Path(tmp) / "before.json")
        after = _run(ROOT.parent, Path(tmp) / "after.json")
    report = table(before, after)
    print(report)
    wrong = misses(after)
    if args.verbose:
        for label, run in (("before", before), ("after", after)):
            if run:
                print(f"\n{label}: {len(misses(run))} wrong", *misses(run), sep="\n  ")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"baseline": args.baseline if before else None, "before": before, "after": after,
                                   "table": report, "wrong_after": wrong}, indent=1) + "\n")
    print(f"wrote {RESULTS}", file=sys.stderr)


if __name__ == "__main__":
    main()
