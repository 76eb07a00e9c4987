"""Load: users connected before timing starts, all asking at once, on the Gradio path and on the JSON API, with --auth.

For each index (`--index DIR`, e.g. the News100 and NewsArticles demo indexes) and each app setting (`--setting
LABEL=ARGS`: app.py options such as `--concurrency 4`; each `--baseline REF` adds the Gradio path of commit REF's
app.py with its own defaults, measured in the same run), `app.py --auth` serves a copy of the index on 127.0.0.1.
Each level then connects `users` clients first (a logged-in `gradio_client.Client`, or an `httpx.Client` with
HTTP Basic credentials that has already made one request), and only then starts the clock: every user asks its
share of `--asks` questions back to back (each ask a new phrasing of a News100 question, so no cache answers it).
Reported per level: asks, errors (with examples), answers/s, p50/p95 latency with bootstrap 95% intervals, and the
server's RSS before and after the level's asks (flat: within 10%); `--warmup` asks go first, untimed, over the JSON
API (the Gradio path where the app has no API), so that the levels start with its caches filled. Prints a Markdown table, writes JSON.

    python -m benchmarks.load --index benchmarks/.cache/news100-app --index benchmarks/.cache/newsarticles-app \\
        [--users 50,200] [--asks 1000] [--paths gradio,api] [--setting tuned="--concurrency 4"] [--baseline 5fbcc3d]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import CACHE, REPO, RESULTS, machine
from benchmarks.serve import CLIENT_NOTE, PHRASINGS, App, load_questions, rss_mb
from benchmarks.serve_report import summary

USER, PASSWORD = "bench", "load-test-password"
PATHS = ("gradio", "api")


def _user_process(url: str, path: str, users: int, first: int, asks: int, timeout: float, conn: Any) -> None:
    """`users` threads in this process, each with its own connected client, each asking `asks` questions in turn."""
    questions = [q["question"] for q in load_questions()]
    clients = [_connect(url, path, timeout) for _ in range(users)]
    conn.send("ready")
    conn.recv()  # the go signal: every process starts at once
    rows: list[tuple[float, str, bool]] = []  # (latency, error, abstained)
    lock = threading.Lock()

    def run(n: int, client: Any) -> None:
        for k in range(asks):
            number = (first + n) * 10_000 + k
            text = PHRASINGS[k % len(PHRASINGS)].format(q=questions[number % len(questions)]) + f" (ask {number})"
            start = time.perf_counter()
            try:
                answer, error = _ask(client, path, text)
            except Exception as exc:  # noqa: BLE001 - an error is a measurement here
                answer, error = {}, f"{exc.__class__.__name__}: {exc}"[:200]
            with lock:
                rows.append((time.perf_counter() - start, error, bool(answer.get("abstained"))))

    threads = [threading.Thread(target=run, args=(n, c)) for n, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conn.send(rows)


def _connect(url: str, path: str, timeout: float) -> Any:
    """A logged-in client with its connection open (what a user has before asking)."""
    if path == "gradio":
        from gradio_client import Client

        return Client(url, auth=(USER, PASSWORD), verbose=False, ssl_verify=False, httpx_kwargs={"timeout": timeout})
    import httpx

    client = httpx.Client(base_url=url.rstrip("/") + "/api", auth=(USER, PASSWORD), timeout=timeout)
    client.get("/stats").raise_for_status()
    return client


def _ask(client: Any, path: str, text: str) -> tuple[dict[str, Any], str]:
    if path == "gradio":
        answer = client.submit(text, api_name="/ask").result(timeout=600)
        return answer, answer.get("error", "")
    reply = client.post("/ask", json={"question": text})
    answer = reply.json()
    return answer, "" if reply.status_code == 200 else f"{reply.status_code}: {answer.get('error', reply.text[:100])}"


def level(url: str, path: str, users: int, asks: int, processes: int, first: int, timeout: float) -> dict[str, Any]:
    """One level: `users` connected users over `processes` processes, `asks` asks in all."""
    ctx = mp.get_context("spawn")
    each = math.ceil(asks / users)
    shares = [users // processes + (p < users % processes) for p in range(processes)]
    pipes, procs, offset = [], [], first
    for share in (s for s in shares if s):
        mine, theirs = ctx.Pipe()
        proc = ctx.Process(target=_user_process, args=(url, path, share, offset, each, timeout, theirs), daemon=True)
        proc.start()
        offset += share
        pipes.append(mine)
        procs.append(proc)
    for pipe in pipes:
        assert pipe.recv() == "ready"
    began = time.perf_counter()
    for pipe in pipes:
        pipe.send("go")
    rows = [row for pipe in pipes for row in pipe.recv()]
    wall = time.perf_counter() - began
    for proc in procs:
        proc.join(30)
    ok = [r for r in rows if not r[1]]
    errors = [r[1] for r in rows if r[1]]
    stats = summary(np.array([r[0] for r in ok])) if ok else {}
    stats.pop("latencies_s", None)
    return {"path": path, "users": users, "asks": len(rows), "errors": len(errors), "error_examples": sorted(set(errors))[:3],
            "abstained": sum(r[2] for r in ok), "wall_s": round(wall, 1), "answers_per_s": round(len(ok) / wall, 2), **stats}


def serve(code: Path, index: Path, args: list[str], log: Path) -> App:
    app = App(code, index, ["--auth", f"{USER}:{PASSWORD}", *args], log)
    app.wait_ready(timeout=900)  # up, and its start-up work (warming the sentence cache) done
    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, action="append", required=True, help="an index to copy and serve (repeatable)")
    parser.add_argument("--users", default="50,200", help="users of each level (default 50,200)")
    parser.add_argument("--asks", type=int, default=1000, help="asks in each level, shared by its users (default 1000)")
    parser.add_argument("--paths", default=",".join(PATHS), help="gradio, api or both (default both)")
    parser.add_argument("--setting", action="append", default=[], metavar="LABEL=ARGS",
                        help="app.py options to measure, e.g. c4='--concurrency 4' (repeatable; default: the defaults)")
    parser.add_argument("--baseline", action="append", default=[], metavar="REF",
                        help="also the Gradio path of this commit's app.py, with its defaults (repeatable)")
    parser.add_argument("--processes", type=int, default=4, help="client processes the users are spread over (default 4)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds a client waits for one reply (default 600)")
    parser.add_argument("--warmup", type=int, default=200,
                        help="asks over the JSON API before the first level, untimed: the caches fill (default 200)")
    parser.add_argument("--out", type=Path, default=RESULTS / "load.json")
    args = parser.parse_args()
    users = [int(u) for u in args.users.split(",")]
    paths = [p for p in args.paths.split(",") if p]
    settings = [(s.partition("=")[0], shlex.split(s.partition("=")[2])) for s in args.setting] or [("defaults", [])]
    CACHE.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {"meta": {"machine_start": machine(), "users": users, "asks_per_level": args.asks,
                                    "client": CLIENT_NOTE, "client_processes": args.processes, "auth": "--auth, one user",
                                    "note": "clients and app on the same cores, at the same priority; the users of a level "
                                            "connect (and log in) before its clock starts",
                                    "commit": _commit()}, "runs": []}
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        runs = [(label, REPO, extra, paths) for label, extra in settings]
        from benchmarks.baseline import extract_qa

        for n, ref in enumerate(args.baseline):
            code = extract_qa(ref, Path(tmp) / f"baseline-{n}", also=("app.py",))
            runs.insert(n, (f"baseline {ref}", code, [], ["gradio"]))
        first = 0
        for index in args.index:
            for label, code, extra, run_paths in runs:
                work = Path(tmp) / "index"
                shutil.rmtree(work, ignore_errors=True)
                shutil.copytree(index, work)
                print(f"{index.name} · {label}: starting the app…", file=sys.stderr, flush=True)
                app = serve(code, work, extra, CACHE / "load-app.log")
                try:
                    if args.warmup:
                        rss_start = rss_mb(app.proc.pid)
                        warm = level(app.url, "api" if "api" in run_paths else "gradio", 10, args.warmup, 1, first, args.timeout)
                        first += 10
                        doc.setdefault("warmups", []).append({"index": index.name, "setting": label, "asks": warm["asks"],
                                                              "errors": warm["errors"], "rss_start_mb": rss_start,
                                                              "rss_after_mb": rss_mb(app.proc.pid)})
                    for path in run_paths:
                        for n in users:
                            rss_before = rss_mb(app.proc.pid)
                            load = round(os.getloadavg()[0], 2)
                            result = level(app.url, path, n, args.asks, min(args.processes, n), first, args.timeout)
                            first += n
                            rss_after = rss_mb(app.proc.pid)
                            result.update(index=index.name, setting=label, app_args=" ".join(extra), load_average=load,
                                          rss_before_mb=rss_before, rss_after_mb=rss_after,
                                          rss_growth=round(rss_after / rss_before - 1, 3))
                            doc["runs"].append(result)
                            print(f"  {path} {n} users: {result['asks']} asks, {result['errors']} errors, p50 "
                                  f"{result.get('p50_s')} s, p95 {result.get('p95_s')} s, {result['answers_per_s']} answers/s, "
                                  f"RSS {rss_before:.0f} → {rss_after:.0f} MB (load {load})", file=sys.stderr, flush=True)
                            args.out.with_suffix(".partial.json").write_text(json.dumps(doc, indent=1) + "\n")
                finally:
                    app.stop()
                    app.proc.wait(60)
    doc["meta"]["machine_end"] = machine()
    doc["table"] = table(doc)
    print(doc["table"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    args.out.with_suffix(".partial.json").unlink(missing_ok=True)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _commit() -> str:
    done = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "qa", "app.py"], capture_output=True, text=True)
    return done.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def table(doc: dict[str, Any]) -> str:
    lines = ["| index | app | path | users | asks | errors | answers/s | p50 s [95% CI] | p95 s [95% CI] | RSS before → after MB | load |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in doc["runs"]:
        def cell(p: int) -> str:
            return f"{r[f'p{p}_s']:.2f} [{r[f'p{p}_ci95'][0]:.2f}, {r[f'p{p}_ci95'][1]:.2f}]" if f"p{p}_s" in r else "–"
        setting = r["setting"] + (f" (`{r['app_args']}`)" if r["app_args"] else "")
        lines.append(f"| {r['index']} | {setting} | {r['path']} | {r['users']} | {r['asks']} | {r['errors']} | "
                     f"{r['answers_per_s']:.1f} | {cell(50)} | {cell(95)} | {r['rss_before_mb']:.0f} → {r['rss_after_mb']:.0f} "
                     f"({r['rss_growth']:+.0%}) | {r['load_average']:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
