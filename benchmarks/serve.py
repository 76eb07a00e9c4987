"""Benchmark serving: concurrent gradio_client asks against the launched app, idle and during a UI ingest.

Each run starts `app.py` from a code directory (this checkout, and e.g. `git archive main` for the
baseline) over a fresh copy of an index, on 127.0.0.1, and measures it from client processes:
p50/p95 latency (bootstrap 95% interval), errors, answers right, answers/s, and the server's RSS.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from benchmarks.common import machine
from benchmarks.serve_report import paired, ratio_table, summary, table

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache"
CHROMIUM = "/usr/bin/chromium"
# gradio_client opens a new httpx client for each ask's event stream; with TLS verification on, that loads the
# whole CA bundle every time (about 60 ms of client CPU per ask here, half of the client's time, measured with
# py-spy). The app is plain HTTP on 127.0.0.1, so no TLS is involved: the clients turn verification off.
CLIENT_NOTE = "gradio_client(ssl_verify=False): plain HTTP on loopback; otherwise each ask loads the CA bundle"
# phrasings of each question: the sequential pass asks the first, each concurrent pass the next unused ones, so
# no ask repeats an earlier one (the app remembers recent query vectors, which would flatter it)
PHRASINGS = ["{q}", "Question: {q}", "{q} (from the news articles)", "Tell me: {q}", "Quick question. {q}",
             "I read about this. {q}", "{q} Thanks.", "Can you answer this? {q}", "According to the articles: {q}",
             "Hello! {q}", "{q} I am curious.", "One more: {q}", "Do the articles say? {q}", "Help me out. {q}",
             "{q} Please.", "My question is: {q}", "From the news: {q}"]


def load_questions() -> list[dict[str, Any]]:
    path = ROOT / "benchmarks" / "questions" / "news100.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def correct(q: dict[str, Any], answer: dict[str, Any]) -> bool:
    if not q["answerable"]:
        return bool(answer["abstained"])
    return not answer["abstained"] and any(a.lower() in answer["text"].lower() for a in q["answers"])


# -- the client side: processes of threads, each thread its own gradio_client ---------------------
def _client_process(url: str, jobs: list[list[tuple[int, str]]], conn: Any) -> None:
    """One process of len(jobs) client threads; each thread asks its questions one after the other."""
    from gradio_client import Client

    clients = [Client(url, verbose=False, ssl_verify=False) for _ in jobs]  # see CLIENT_NOTE
    conn.send("ready")
    conn.recv()  # the go signal: every process starts at once
    results: list[tuple[int, float, float, dict[str, Any] | None, str]] = []
    lock = threading.Lock()

    def run(client: Any, mine: list[tuple[int, str]]) -> None:
        for qid, text in mine:
            start = time.perf_counter()
            try:
                answer, error = client.submit(text, api_name="/ask").result(timeout=600), ""
                error = answer.get("error", "")
            except Exception as exc:  # noqa: BLE001 - an error is a measurement here
                answer, error = None, f"{exc.__class__.__name__}: {exc}"[:200]
            with lock:
                results.append((qid, time.perf_counter() - start, time.time(), answer, error))

    threads = [threading.Thread(target=run, args=(c, mine)) for c, mine in zip(clients, jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conn.send(results)


def load(url: str, questions: list[dict[str, Any]], clients: int, asks: int, processes: int, phrasing: int) -> dict[str, Any]:
    """`clients` threads over `processes` processes, each asking `asks` distinct questions in turn.

    Ask n is question n mod len(questions) in phrasing `phrasing + n // len(questions)`."""
    ctx = mp.get_context("spawn")
    work = [[(n % len(questions), PHRASINGS[phrasing + n // len(questions)].format(q=questions[n % len(questions)]["question"]))
             for n in range(c * asks, (c + 1) * asks)] for c in range(clients)]
    shares = [work[p::processes] for p in range(processes)]
    pipes, procs = [], []
    for share in shares:
        mine, theirs = ctx.Pipe()
        proc = ctx.Process(target=_client_process, args=(url, share, theirs), daemon=True)
        proc.start()
        pipes.append(mine)
        procs.append(proc)
    for pipe in pipes:
        assert pipe.recv() == "ready"
    started = time.perf_counter()
    for pipe in pipes:
        pipe.send("go")
    rows = [row for pipe in pipes for row in pipe.recv()]
    wall = time.perf_counter() - started
    for proc in procs:
        proc.join(30)
    latencies = np.array([r[1] for r in rows])
    errors = [r[4] for r in rows if r[4]]
    right = sum(correct(questions[r[0]], r[3]) for r in rows if r[3] is not None and not r[4])
    return {"asks": len(rows), "errors": len(errors), "error_examples": errors[:3], "correct": right,
            "wall_s": round(wall, 3), "answers_per_s": round((len(rows) - len(errors)) / wall, 2),
            **summary(latencies), "ended_at": [r[2] for r in rows]}


def sequential(url: str, questions: list[dict[str, Any]]) -> dict[str, Any]:
    """Every question once, one at a time: the usual latency of a single ask."""
    from gradio_client import Client

    client = Client(url, verbose=False, ssl_verify=False)  # see CLIENT_NOTE
    times, right, errors = [], 0, []
    for q in questions:
        start = time.perf_counter()
        try:
            answer = client.predict(q["question"], api_name="/ask")
        except Exception as exc:  # noqa: BLE001 - counted, like the concurrent passes' errors
            errors.append(f"{exc.__class__.__name__}: {exc}"[:200])
            continue
        times.append(time.perf_counter() - start)
        right += correct(q, answer) and not answer.get("error")
    return {"asks": len(questions), "errors": len(errors), "error_examples": errors[:3], "correct": right,
            **summary(np.array(times))}


# -- the server side ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class App:
    """`app.py` from `code` over `index`, on a free port of 127.0.0.1; stopped with SIGTERM."""

    def __init__(self, code: Path, index: Path, extra: list[str], log: Path, hide: Sequence[str] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        path = [str(code)]
        if hide:  # modules this code does not install: stubs that fail to import, as on its own clean install
            stubs = log.with_suffix(".hidden")
            stubs.mkdir(exist_ok=True)
            for name in hide:
                (stubs / f"{name}.py").write_text(f"raise ImportError('{name} is not installed by this code')\n")
            path.insert(0, str(stubs))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
        self._log = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, str(code / "app.py"), "--index", str(index), "--demo", "none",
                                      "--port", str(self.port), *extra], cwd=code, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app exited with {self.proc.returncode}; see {self._log.name}")
            try:
                urllib.request.urlopen(self.url, timeout=5).read()
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError("the app did not come up")
        # then until its start-up work (warming the sentence cache) is done: under 5% of a core for 3 s
        idle_since, last = time.monotonic(), cpu_seconds(self.proc.pid)
        while time.monotonic() - idle_since < 3 and time.monotonic() < deadline:
            time.sleep(1)
            now = cpu_seconds(self.proc.pid)
            if now - last > 0.05:
                idle_since = time.monotonic()
            last = now

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def ui_ingest(url: str, upload: Path, events: dict[str, float], ready: threading.Event) -> None:
    """Add articles the way a user does: upload a file in the page and press "Add articles" (headless Chromium).

    The browser runs at a low CPU priority: a user's browser runs on their own machine, not the server's cores."""
    from playwright.sync_api import sync_playwright

    os.nice(15)  # this thread only (Linux), and the browser processes it starts
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless", "--disable-gpu"])
            page = browser.new_page()
            page.goto(url)
            page.get_by_text("Add articles").first.click()
            page.locator("#upload input[type=file]").set_input_files(str(upload))
            page.wait_for_timeout(1000)
            page.locator("#add").click()
            events["clicked"] = time.time()
            page.wait_for_timeout(2000)  # the ingest is under way
            ready.set()
            page.locator("#add-status").get_by_text("added").wait_for(timeout=1_800_000)
            events["done"] = time.time()
            events["status"] = page.locator("#add-status").inner_text()  # type: ignore[assignment]
            browser.close()
    finally:
        ready.set()


def upload_file(n: int, directory: Path) -> Path:
    """`n` NewsArticles articles outside News100, under new ids: new to either index."""
    from qa.reading.demo import demo_articles

    news100 = {a.id for a in demo_articles("News100")}
    fresh = [a for a in demo_articles("NewsArticles") if a.id not in news100][:n]
    path = directory / "new-articles.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for a in fresh:
            fh.write(json.dumps({"id": f"bench-{a.id}", "title": a.title, "url": a.url, "published": a.published,
                                 "source": a.source, "text": a.text}) + "\n")
    return path


def one_app(
    label: str, code: Path, index: Path, extra: list[str], args: argparse.Namespace, questions: list[dict[str, Any]], hide: Sequence[str] = ()
) -> dict[str, Any]:
    """Idle: a sequential pass, then two concurrent passes (RSS after each). Then a concurrent pass during a UI ingest."""
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        work = Path(tmp) / "index"
        shutil.copytree(index, work)
        app = App(code, work, extra, CACHE / f"serve-{index.name}-{label.replace(' ', '').replace(',', '-')}.log", hide)
        try:
            app.wait_ready()
            out: dict[str, Any] = {"code": label, "index": str(index), "args": extra, "rss_start_mb": rss_mb(app.proc.pid),
                                   "load_average": round(os.getloadavg()[0], 1)}  # other work on the machine
            out["sequential"] = sequential(app.url, questions)
            out["rss_before_mb"] = rss_mb(app.proc.pid)
            runs, per_pass = [], -(-args.clients * args.asks // len(questions))  # phrasings each pass uses
            for n in range(args.repeats):
                runs.append(load(app.url, questions, args.clients, args.asks, args.processes, phrasing=1 + n * per_pass))
                runs[-1]["rss_after_mb"] = rss_mb(app.proc.pid)
            out["idle"] = runs
            if args.ingest and Path(CHROMIUM).exists():
                events: dict[str, float] = {}
                ready = threading.Event()
                adder = threading.Thread(target=ui_ingest, args=(app.url, upload_file(args.ingest, Path(tmp)), events, ready))
                adder.start()
                ready.wait(120)
                during = load(app.url, questions, args.clients, args.asks, args.processes, phrasing=1 + args.repeats * per_pass)
                adder.join(1800)
                done = events.get("done", float("inf"))
                during["inside_ingest"] = sum(t < done for t in during["ended_at"])
                during["ingest_s"] = round(done - events.get("clicked", done), 1)
                during["ingest_status"] = events.get("status", "the add did not finish")
                during["rss_after_mb"] = rss_mb(app.proc.pid)
                out["during_ingest"] = during
        finally:
            app.stop()
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, action="append", default=None,
                        help="index directory (repeatable; default: a News100 index built in benchmarks/.cache)")
    parser.add_argument("--baseline", type=Path, default=None, help="a checkout of the code to compare with (e.g. git archive main)")
    parser.add_argument("--baseline-hides", default="uvloop,httptools",
                        help="modules the baseline does not install, hidden from it (default uvloop,httptools: new here)")
    parser.add_argument("--variant", action="append", default=None, metavar="LABEL=ARGS",
                        help="this checkout with these app.py options, e.g. 'concurrency 4=--concurrency 4' (repeatable; default: its defaults)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--asks", type=int, default=4, help="questions each client asks in turn (default 4)")
    parser.add_argument("--processes", type=int, default=5, help="client processes the clients are spread over (default 5)")
    parser.add_argument("--repeats", type=int, default=2, help="concurrent passes while idle (default 2: RSS growth shows)")
    parser.add_argument("--ingest", type=int, default=150, help="articles added in the UI during the last pass (0: skip)")
    parser.add_argument("--rounds", type=int, default=1, help="times each code is measured, alternating (default 1)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "serve.json")
    parser.add_argument("--report", type=Path, default=None, help="print the tables of an earlier run's JSON and exit")
    args = parser.parse_args()
    if args.report:
        doc = json.loads(args.report.read_text(encoding="utf-8"))
        print(table(doc["runs"], doc["meta"]["clients"]))
        print(ratio_table(paired(doc["runs"])))
        return 0
    CACHE.mkdir(parents=True, exist_ok=True)
    indexes = args.index or [build_news100()]
    questions = load_questions()
    variants = [v.partition("=") for v in args.variant or ["this="]]
    hidden = [m for m in args.baseline_hides.split(",") if m]
    codes = ([("main", args.baseline.resolve(), [], hidden)] if args.baseline else []) + [
        (label.strip(), ROOT, options.split(), []) for label, _, options in variants]
    results = []
    for index in indexes:
        for _ in range(args.rounds):  # rounds alternate the codes: drift on a shared machine hits both
            for label, code, extra, hide in codes:
                print(f"{index.name} · {label}…", file=sys.stderr, flush=True)
                results.append(one_app(label, code, index.resolve(), extra, args, questions, hide))
                print(table(results[-1:], args.clients), file=sys.stderr, flush=True)
    text = table(results, args.clients)
    ratios = paired(results) if args.baseline else []
    print(text)
    if ratios:
        print(ratio_table(ratios))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"client": CLIENT_NOTE, "clients": args.clients, "asks_per_client": args.asks, "client_processes": args.processes,
            "machine": machine()}  # at the end: its load average is the load then
    args.out.write_text(json.dumps({"meta": meta, "runs": results, "ratios": ratios, "table": text}, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def build_news100() -> Path:
    """The News100 demo index with a warm sentence cache, built once under benchmarks/.cache."""
    path = CACHE / "serve-news100"
    if not (path / "manifest.json").exists():
        from qa.answerers import ExtractiveAnswerer
        from qa.ingest import ingest
        from qa.reading.demo import demo_articles
        from qa.retrieval import Retriever

        ingest(demo_articles("News100"), path, progress=True)
        ExtractiveAnswerer(Retriever.load(path)).warm()
    return path


if __name__ == "__main__":
    sys.exit(main())
