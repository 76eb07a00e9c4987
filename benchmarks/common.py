"""What the benchmarks share: the machine a result was measured on (in one shape), the repository's paths, and
running a measurement against the `qa/` of another commit."""

from __future__ import annotations

import importlib
import os
import platform
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent  # the repository root: run benchmarks from here (`python -m benchmarks.x`)
BENCHMARKS = REPO / "benchmarks"
RESULTS = BENCHMARKS / "results"
CACHE = BENCHMARKS / ".cache"


def machine() -> dict[str, Any]:
    """The machine and its state as a result file records it (`"machine": machine()`), the same keys everywhere:
    platform, processor architecture, CPUs (all, and those this process may use), Python, load average (1, 5,
    15 minutes) when it is taken. Call it again at the end of a long run to record the load then."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count() or 1
    return {
        "platform": platform.platform(),
        "architecture": platform.machine(),
        "cpus": os.cpu_count(),
        "usable_cpus": usable,
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }


def qa_module(*names: str) -> ModuleType:
    """The first of these `qa` modules that imports: a benchmark measuring the `qa/` of an earlier commit (a
    baseline, benchmarks/baseline.py) names the module of each layout, newest first: `qa_module("qa.reading.sources",
    "qa.sources")`."""
    for name in names[:-1]:
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise  # the module is there but imports something missing: a real error
    return importlib.import_module(names[-1])


def run_with_qa(qa_root: Path, module: str, *args: str, **env: str) -> None:
    """`python -m MODULE ARGS` in a child whose `qa` is the one under `qa_root` (this checkout, or a baseline that
    benchmarks/baseline.py extracted): its working folder, first on its path; the benchmarks come from REPO."""
    environment = {**os.environ, **env, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-m", module, *args], check=True, cwd=qa_root, env=environment)


def copy_stored(reader: Any, writer: Any, articles: list[Any], batch: int = 64) -> int:
    """Put `articles` into an index `writer` with their chunks and vectors as `reader` (another index) stores them,
    `batch` articles a read; returns the chunks copied."""
    copied = 0
    for at in range(0, len(articles), batch):
        part = articles[at : at + batch]
        ids = reader.article_chunks([a.id for a in part])
        flat = [c for a in part for c in ids.get(a.id, [])]
        rows, vectors = reader.chunks(flat), reader.vectors(flat)
        offset = 0
        for a in part:
            mine = ids.get(a.id, [])
            writer.put(a, [rows[c].chunk for c in mine], vectors[offset : offset + len(mine)])
            offset += len(mine)
        copied += len(flat)
    return copied

