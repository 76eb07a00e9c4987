"""`qa watch`: re-read sources on a schedule and add their new or changed articles, until stopped."""

from __future__ import annotations

import argparse
import json
import logging
import re
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from qa.encoding import BACKENDS, Encoder
from qa.errors import ConfigError, QAError

log = logging.getLogger(__name__)

DEFAULT_EVERY = "15m"
UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)([dhms])")
DURATION_HELP = "a number with a unit, or several: 30s, 15m, 1h, 1h30m, 1d"


def parse_duration(text: str) -> float:
    """Seconds in a duration like 30s, 15m, 1h or 1h30m; a ConfigError naming the bad value otherwise."""
    raw = text
    text = (text or "").strip().lower().replace(" ", "")
    parts = _PART.findall(text)
    units = [unit for _, unit in parts]
    if not text or "".join(n + u for n, u in parts) != text or len(set(units)) != len(units):
        hint = f"; add a unit, e.g. {text}s or {text}m" if re.fullmatch(r"\d+(\.\d+)?", text) else ""
        raise ConfigError(f"cannot read {raw!r} as a duration: use {DURATION_HELP}{hint}")
    if units != sorted(units, key=list(UNITS).index):
        raise ConfigError(f"cannot read {raw!r} as a duration: write the units largest first, as in 1h30m")
    seconds = sum(float(n) * UNITS[u] for n, u in parts)
    if seconds < 1:
        raise ConfigError(f"the duration {raw!r} is under a second; watch at most once a second (e.g. 1s, 30s, 15m)")
    return seconds


def format_duration(seconds: float) -> str:
    """15m, 1h30m, 45s: the shortest spelling `parse_duration` reads back."""
    whole, out = int(round(seconds)), ""
    for unit, size in UNITS.items():
        if whole >= size:
            out += f"{whole // int(size)}{unit}"
            whole %= int(size)
    return out or "0s"


@dataclass
class Round:
    """What one round of a watch did."""

    number: int
    started: float
    seconds: float = 0.0
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: int = 0
    failures: list[str] = field(default_factory=list)
    chunks: int = 0
    error: str = ""  # the whole round failed (e.g. the index could not be written); the next round tries again

    def summary(self) -> str:
        when = time.strftime("%H:%M:%S", time.localtime(self.started))
        if self.error:
            return f"round {self.number} ({when}): failed after {self.seconds:.1f} s: {self.error}"
        return (
            f"round {self.number} ({when}): {len(self.added)} added, {len(self.replaced)} replaced, {self.unchanged} unchanged, "
            f"{len(self.failures)} failed ({self.chunks} chunks encoded) in {self.seconds:.1f} s"
        )

    def to_dict(self) -> dict[str, Any]:
        return {"round": self.number, "started": round(self.started, 3), "seconds": round(self.seconds, 3), "added": self.added,
                "replaced": self.replaced, "unchanged": self.unchanged, "failed": self.failures, "chunks": self.chunks,
                "error": self.error}


def run_round(number: int, sources: Sequence[str], index: Path, encoder: Encoder, *, timeout: float, progress: bool) -> Round:
    """Read every source once and ingest what is new or changed (one commit, or none when nothing changed)."""
    from qa.ingest import ingest
    from qa.sources import read_sources

    result = Round(number, time.time())
    start = time.perf_counter()
    try:
        report = ingest(read_sources(sources, timeout=timeout), index, encoder=encoder, progress=progress)
    except QAError as exc:
        result.error = str(exc)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - a watch outlives one bad round; -v shows the traceback
        log.debug("round %d failed", number, exc_info=True)
        result.error = f"{exc.__class__.__name__}: {exc}"
    else:
        result.added, result.replaced, result.unchanged = report.added, report.replaced, len(report.unchanged)
        result.failures, result.chunks = [str(f) for f in report.failures], report.chunks
    result.seconds = time.perf_counter() - start
    return result


def watch(
    sources: Sequence[str],
    index: Path,
    encoder: Encoder,
    *,
    every: float,
    rounds: int = 0,
    timeout: float = 20.0,
    progress: bool = False,
    on_start: Callable[[int], None] = lambda n: None,
    on_round: Callable[[Round], None] = lambda r: None,
) -> int:
    """Run rounds `every` seconds apart (start to start; an overlong round is followed at once) until
    `rounds` are done (0: forever) or KeyboardInterrupt; returns the number of rounds completed."""
    done, next_start = 0, time.monotonic()
    while not rounds or done < rounds:
        wait = next_start - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        next_start = max(next_start + every, time.monotonic())
        on_start(done + 1)
        on_round(run_round(done + 1, sources, index, encoder, timeout=timeout, progress=progress))
        done += 1
    return done


# -- the command --------------------------------------------------------------------------
def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def configure_watch(p: argparse.ArgumentParser) -> None:
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="what `qa ingest` reads: files, directories, URLs, feeds, .jsonl, .csv")
    p.add_argument("--every", type=_duration, default=DEFAULT_EVERY, metavar="DURATION",
                   help=f"time between the starts of two rounds: {DURATION_HELP} (default {DEFAULT_EVERY})")
    p.add_argument("--rounds", type=int, default=0, help="stop after this many rounds (default 0: until Ctrl-C or SIGTERM)")
    p.add_argument("--model", default=None, help="embedding model id or path, for a new index (default: all-MiniLM-L6-v2)")
    p.add_argument("--backend", default=None, choices=BACKENDS, help="how the model runs, for a new index (default onnx-int8)")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for each URL")
    p.add_argument("--json", action="store_true", help="print one JSON object per round instead of the summary line")
    p.add_argument("--quiet", action="store_true", help="no progress bar (there is none when stderr is not a terminal)")


def cmd_watch(args: argparse.Namespace) -> int:
    from qa.ingest import default_index_dir, open_encoder

    if args.rounds < 0:
        raise ConfigError(f"--rounds must be 0 (no limit) or more, got {args.rounds}")
    index = args.index if args.index is not None else default_index_dir()
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
