"""The `qa/` package of an earlier commit, extracted from git, for benchmarks that compare against it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def extract_qa(ref: str, dest: Path, *, hint: str = "use --baseline none", also: tuple[str, ...] = ()) -> Path:
    """`qa/` as it was at commit `ref` (and the paths in `also`, e.g. "app.py"), written under `dest` (put `dest`
    first on the path to import it); exits with a clear message (ending in `hint`) when git cannot read that commit."""
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "qa", *also], check=True, capture_output=True).stdout
    except subprocess.CalledProcessError as exc:
        sys.exit(f"cannot read the baseline {ref!r} from git ({exc.stderr.decode().strip()}); {hint}")
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest
