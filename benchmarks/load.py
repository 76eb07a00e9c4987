"""Load run: 10, 50 and 200 concurrent gradio_client users asking a launched app for a bounded time, with an upload a minute.

The app (`app.py`, this checkout, default queue settings) serves a copy of an index on 127.0.0.1. Each level
keeps N users busy for `--seconds`: every user asks, waits for its answer, and asks again (each ask a new
phrasing, so nothing is answered from a cache). One `/add_files` upload of a few new articles goes in
`--upload-after` seconds into each level and then once a minute. Reported per level: answers/s, p50/p95/p99
latency (bootstrap 95% intervals), errors (and examples), the uploads' results, and the server's RSS sampled
every second over the whole run; JSON and a plot under benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import machine
from benchmarks.serve import CACHE, CLIENT_NOTE, PHRASINGS, ROOT, App, load_questions, rss_mb

NEWSARTICLES = Path("/work/cache/newsarticles-v1")


def _user_process(url: str, users: int, first: int, seconds: float, client_timeout: float, conn: Any) -> None:
    """`users` threads, each its own gradio_client, asking until `seconds` after the go signal."""
    from gradio_client import Client

    os.nice(10)  # the users' own machines are not the server's: let the server have the cores first
    questions = [q["question"] for q in load_questions()]
    extra = {"httpx_kwargs": {"timeout": client_timeout}} if client_timeout else {}  # a browser waits; gradio_client: 5 s
    clients = [Client(url, verbose=False, ssl_verify=False, **extra) for _ in range(users)]  # see serve.CLIENT_NOTE
    conn.send("ready")
    conn.recv()
    stop = time.monotonic() + seconds
    rows: list[tuple[float, float, str, bool]] = []  # (end time, latency, error, abstained)
    lock = threading.Lock()

    def run(n: int, client: Any) -> None:
        k = 0
        while time.monotonic() < stop:
            number = (first + n) * 10_000 + k
            text = PHRASINGS[k % len(PHRASINGS)].format(q=questions[number % len(questions)]) + f" (ask {number})"
            k += 1
            start = time.perf_counter()
            try:
                answer = client.submit(text, api_name="/ask").result(timeout=600)
                error, abstained = answer.get("error", ""), bool(answer.get("abstained"))
            except Exception as exc:  # noqa: BLE001 - an error is a measurement here
                error, abstained = f"{exc.__class__.__name__}: {exc}"[:200], False
            with lock:
                rows.append((time.time(), time.perf_counter() - start, error, abstained))

    threads = [threading.Thread(target=run, args=(n, c)) for n, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conn.send(rows)


def percentiles(latencies: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """p50/p95/p99 with bootstrap 95% intervals, in seconds."""
    out: dict[str, Any] = {}
    if len(latencies) == 0:
        return out
    rng = np.random.default_rng(seed)
    draws = rng.choice(latencies, size=(1000, len(latencies)), replace=True)
    for p in (50, 95, 99):
        boot = np.percentile(draws, p, axis=1)
        out[f"p{p}_s"] = round(float(np.percentile(latencies, p)), 3)
        out[f"p{p}_ci95"] = [round(float(np.percentile(boot, 2.5)), 3), round(float(np.percentile(boot, 97.5)), 3)]
    return out


def level(app: App, users: int, seconds: float, processes: int, uploads_dir: Path, upload_articles: int, upload_after: float,
          first: int, client_timeout: float = 0) -> dict[str, Any]:
    """One load level: `users` users over `processes` client processes, uploads from this process."""
    from gradio_client import Client, handle_file

    ctx = mp.get_context("spawn")
    shares = [users // processes + (p < users % processes) for p in range(processes)]
    pipes, procs = [], []
    offset = first
    for share in (s for s in shares if s):
        mine, theirs = ctx.Pipe()
        proc = ctx.Process(target=_user_process, args=(app.url, share, offset, seconds, client_timeout, theirs), daemon=True)
        proc.start()
        offset += share
        pipes.append(mine)
        procs.append(proc)
    for pipe in pipes:
        assert pipe.recv() == "ready"
    uploader = Client(app.url, verbose=False, ssl_verify=False, **({"httpx_kwargs": {"timeout": client_timeout}} if client_timeout else {}))
    began = time.time()
    for pipe in pipes:
        pipe.send("go")
    uploads: list[dict[str, Any]] = []
    when = upload_after
    while when < seconds:
        time.sleep(max(0.0, began + when - time.time()))
        start = time.perf_counter()
        try:
            upload = upload_file(uploads_dir, first * 1000 + len(uploads), upload_articles)
            status = uploader.predict([handle_file(str(upload))], api_name="/add_files")["status"]
        except Exception as exc:  # noqa: BLE001 - measured
            status = f"error: {exc.__class__.__name__}: {exc}"[:200]
        uploads.append({"at_s": round(when, 1), "took_s": round(time.perf_counter() - start, 2), "status": status})
        when += 60
    rows = [row for pipe in pipes for row in pipe.recv()]
    wall = time.time() - began
    for proc in procs:
        proc.join(30)
    ok = [r for r in rows if not r[2]]
    errors = [r[2] for r in rows if r[2]]
    return {"users": users, "seconds": seconds, "asks": len(rows), "errors": len(errors), "error_examples": errors[:3],
            "abstained": sum(r[3] for r in ok), "wall_s": round(wall, 1), "answers_per_s": round(len(ok) / wall, 2),
            **percentiles(np.array([r[1] for r in ok])), "uploads": uploads, "began": began}


def upload_file(directory: Path, batch: int, n: int) -> Path:
    """A JSONL file of `n` short articles new to the index (batch `batch`: new ids and text each time)."""
    path = directory / f"upload-{batch}.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"load-{batch}-{i}", "title": f"Harbour notice {batch}.{i}", "published": "2025-01-06",
                                 "text": f"The harbour office posted notice {batch}.{i} on Monday. Berth {i} closes for dredging "
                                         f"for {batch + i + 2} days, and ferries use the north pier meanwhile."}) + "\n")
    return path


class RssSampler(threading.Thread):
    """The server's RSS every `every` seconds, as (seconds since start, MB)."""

    def __init__(self, pid: int, every: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.samples = pid, every, []  # type: ignore[var-annotated]
        self.start_time = time.time()
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.every):
            try:
                self.samples.append((round(time.time() - self.start_time, 1), rss_mb(self.pid)))
            except OSError:
                return

    def stop(self) -> None:
        self._stop_event.set()
        self.join(5)


def plot(doc: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
    t, mb = zip(*doc["rss"]) if doc["rss"] else ((), ())
    ax1.plot(t, mb, color="tab:blue")
    for lv in doc["levels"]:
        start = lv["began"] - doc["started"]
        ax1.axvspan(start, start + lv["wall_s"], alpha=0.12, color="tab:orange")
        ax1.text(start + 1, min(mb or [0]), f"{lv['users']} users", fontsize=8)
        for up in lv["uploads"]:
            ax1.axvline(start + up["at_s"], color="tab:green", lw=0.8, ls="--")
    ax1.set(xlabel="seconds since the app was ready", ylabel="server RSS (MB)", title="RSS over the run (dashed: uploads)")
    users = [lv["users"] for lv in doc["levels"]]
    for p, style in ((50, "o-"), (95, "s-"), (99, "^-")):
        ax2.plot(users, [lv.get(f"p{p}_s", float("nan")) for lv in doc["levels"]], style, label=f"p{p}")
    ax2.set(xscale="log", xlabel="concurrent users", ylabel="latency (s)", title="ask latency by load")
    ax2.set_xticks(users, [str(u) for u in users])
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def table(doc: dict[str, Any]) -> str:
    lines = ["| users | seconds | asks | errors | answers/s | p50 s [95% CI] | p95 s [95% CI] | p99 s [95% CI] | uploads | RSS start → end MB |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for lv in doc["levels"]:
        def cell(p: int) -> str:
            return f"{lv[f'p{p}_s']:.2f} [{lv[f'p{p}_ci95'][0]:.2f}, {lv[f'p{p}_ci95'][1]:.2f}]" if f"p{p}_s" in lv else "–"
        ups = "; ".join(f"{u['took_s']:.1f} s: {u['status'].split(' (')[0]}" for u in lv["uploads"])
        lines.append(f"| {lv['users']} | {lv['wall_s']:.0f} | {lv['asks']} | {lv['errors']} | {lv['answers_per_s']:.1f} | {cell(50)} | "
                     f"{cell(95)} | {cell(99)} | {ups} | {lv['rss_start_mb']:.0f} → {lv['rss_end_mb']:.0f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=NEWSARTICLES, help=f"index to copy and serve (default {NEWSARTICLES})")
    parser.add_argument("--users", default="10,50,200", help="concurrent users of each level (default 10,50,200)")
    parser.add_argument("--seconds", type=float, default=180, help="seconds each level runs (default 180, the issue's 3 minutes)")
    parser.add_argument("--processes", type=int, default=8, help="client processes the users are spread over (default 8)")
    parser.add_argument("--upload-after", type=float, default=10, help="seconds into a level of its first upload (then one a minute)")
    parser.add_argument("--upload-articles", type=int, default=5, help="articles in each upload (default 5)")
    parser.add_argument("--client-timeout", type=float, default=0,
                        help="seconds a client's HTTP requests may wait (default 0: gradio_client's own, 5 s to join the queue)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "load.json")
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        work = Path(tmp) / "index"
        shutil.copytree(args.index, work)  # never the original: the uploads write to it
        app = App(ROOT, work, [], CACHE / "load-app.log")
        try:
            app.wait_ready(timeout=180)  # up, then idle or at most 180 s (on a busy machine it may never look idle)
            sampler = RssSampler(app.proc.pid)
            sampler.start()
            levels, first = [], 0
            for users in (int(u) for u in args.users.split(",")):
                print(f"{users} users for {args.seconds:g} s…", file=sys.stderr, flush=True)
                rss_start = rss_mb(app.proc.pid)
                result = level(app, users, args.seconds, min(args.processes, users), Path(tmp), args.upload_articles, args.upload_after, first,
                               args.client_timeout)
                result.update(rss_start_mb=rss_start, rss_end_mb=rss_mb(app.proc.pid), load_average=round(os.getloadavg()[0], 1))
                levels.append(result)
                first += users
                print(f"  {result['asks']} asks, {result['errors']} errors, {result['answers_per_s']} answers/s, "
                      f"p95 {result.get('p95_s')} s", file=sys.stderr, flush=True)
            sampler.stop()
        finally:
            app.stop()
    doc = {"meta": {"index": str(args.index), "seconds_per_level": args.seconds, "client": CLIENT_NOTE,
                    "client_processes": args.processes, "machine": machine(),  # at the end: the load then
                    "note": "users run niced (10) on the same 2 cores as the app",
                    "client_timeout_s": args.client_timeout or "gradio_client default"},
           "started": sampler.start_time, "levels": levels, "rss": sampler.samples}
    doc["table"] = table(doc)
    print(doc["table"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    plot(doc, args.out.with_suffix(".png"))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
