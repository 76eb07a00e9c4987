"""Coverage-guided fuzzing (atheris, libFuzzer) of the HTML and feed readers, for a bounded time each.

Every input must give Articles or Failures (or a QAError with a message): any other exception is a crash,
which libFuzzer saves (crash-* in the work folder) and this script reports. Feed items that would be
fetched go to a dead proxy on 127.0.0.1, so nothing leaves the machine. Not part of `make test`.
Prints a table and writes benchmarks/results/fuzz-readers.json.

    python -m benchmarks.fuzz_readers [--seconds 120] [--targets html,feed]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent

from benchmarks.common import machine
SEEDS = {
    "html": [
        b"<html><head><title>Harbour vote</title><meta property='og:url' content='https://example.org/a'>"
        b"<meta name='author' content='Ann Lee'></head><body><nav>Home | World</nav><article><h1>Harbour vote</h1>"
        b"<p>By Ann Lee, 5 January 2025</p><p>The council approved the harbour budget on Monday after a long debate.</p>"
        b"<p>The mayor said the ferry would run every hour from May.</p></article><footer>Share on Facebook</footer></body></html>",
        b"<html><body><div><div><p>Short.</p></div></div><script>alert(1)</script></body></html>",
    ],
    "feed": [
        b"<?xml version='1.0'?><rss version='2.0'><channel><title>Wire</title><item><title>Vote</title>"
        b"<link>http://127.0.0.1:9/a</link><pubDate>Mon, 06 Jan 2025 09:00:00 GMT</pubDate><description>"
        b"&lt;p&gt;The council approved the harbour budget on Monday after a long debate about the ferry.&lt;/p&gt;"
        b"</description></item></channel></rss>",
        b"<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>T</title><entry>"
        b"<title>A</title><updated>2025-01-05T10:00:00Z</updated><content type='html'>&lt;p&gt;Words "
        b"and more words.&lt;/p&gt;</content></entry></feed>",
    ],
}
SUFFIX = {"html": ".html", "feed": ".rss"}


def child(target: str, seconds: int, workdir: Path) -> None:
    """Runs in the fuzzing process: instruments the readers and hands control to libFuzzer (which exits)."""
    import atheris

    with atheris.instrument_imports(include=["qa", "feedparser", "trafilatura"]):
        from qa.errors import QAError
        from qa.reading.sources import Cleaned, Failure, read_cleaned
    path = workdir / f"input{SUFFIX[target]}"

    def one(data: bytes) -> None:
        path.write_bytes(data)
        try:
            items = list(read_cleaned([str(path)], timeout=1.0))
        except QAError as exc:
            if not str(exc).strip():
                raise AssertionError("a QAError without a message") from None
            return
        for item in items:
            if not isinstance(item, (Cleaned, Failure)) or (isinstance(item, Failure) and not item.reason.strip()):
                raise AssertionError(f"unexpected item {item!r}")

    corpus = workdir / "corpus"
    atheris.Setup([sys.argv[0], f"-max_total_time={seconds}", "-rss_limit_mb=3072", "-timeout=30",
                   f"-artifact_prefix={workdir}/", "-print_final_stats=1", str(corpus)], one)
    atheris.Fuzz()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=120, help="fuzzing time per target")
    parser.add_argument("--targets", default="html,feed")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "fuzz-readers.json")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.seconds, args.workdir)
        return

    rows = []
    for target in args.targets.split(","):
        workdir = Path(tempfile.mkdtemp(prefix=f"qa-fuzz-{target}-"))
        (workdir / "corpus").mkdir()
        for n, seed in enumerate(SEEDS[target]):
            (workdir / "corpus" / f"seed{n}").write_bytes(seed)
        env = {**os.environ, "PYTHONPATH": str(ROOT.parent), "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
               "ALL_PROXY": "http://127.0.0.1:9", "NO_PROXY": "", "no_proxy": "", "HF_HUB_OFFLINE": "1"}
        done = subprocess.run([sys.executable, __file__, "--child", target, "--seconds", str(args.seconds), "--workdir", str(workdir)],
                              capture_output=True, text=True, env=env, timeout=args.seconds * 3 + 300)
        log = done.stdout + done.stderr
        runs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", log)
        cov = re.findall(r"cov: (\d+) ft: (\d+)", log)
        crashes = sorted(p.name for p in workdir.glob("crash-*")) + sorted(p.name for p in workdir.glob("timeout-*"))
        error = next((line for line in log.splitlines() if "Uncaught Python exception" in line or "Error" in line[:40]), "")
        rows.append({"target": target, "seconds": args.seconds, "inputs": int(runs[-1]) if runs else None,
                     "coverage": int(cov[-1][0]) if cov else None, "features": int(cov[-1][1]) if cov else None,
                     "corpus": len(list((workdir / "corpus").iterdir())), "crashes": crashes, "first_error": error,
                     "exit": done.returncode, "workdir": str(workdir)})
        print(json.dumps(rows[-1]), file=sys.stderr)
    print("| reader | time | inputs tried | coverage (edges) | corpus kept | crashes |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['target']} | {r['seconds']} s | {r['inputs'] or '?':,} | {r['coverage'] or '?'} | {r['corpus']} | "
              f"{len(r['crashes'])}{': ' + r['first_error'] if r['crashes'] else ''} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine(), "runs": rows}, indent=1))


if __name__ == "__main__":
    main()
