"""The `qa check` command: verify an index folder and say what is damaged (exit code 1 when anything is)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def configure_check(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="the report as one JSON object")


def cmd_check(args: argparse.Namespace) -> int:
    from qa.errors import StoreError
    from qa.ingest import default_index_dir
    from qa.stores import open_index
    from qa.stores.check import check_index
    from qa.stores.local import LocalIndex

    root = args.index if args.index is not None else default_index_dir()
    index = open_index(root)
    if not isinstance(index, LocalIndex):
        raise StoreError(f"qa check verifies local index folders; {root} is a {type(index).__name__}")
    report = check_index(Path(index.root))
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
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
    return 0 if report.ok else 1
