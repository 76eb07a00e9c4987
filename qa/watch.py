"""Re-reading sources on a schedule (`qa watch`, in qa/cli/ingest.py): rounds of ingest, durations like 15m."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from qa import config
from qa.encoders import Encoder
from qa.errors import ConfigError, QAError
from qa.ingest import ingest
from qa.reading.sources import read_sources

log = logging.getLogger(__name__)

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
    timeout: float = config.URL_TIMEOUT,
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
