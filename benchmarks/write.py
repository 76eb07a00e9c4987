"""Writes, searches, reader memory and merges at several index sizes: what a write costs is what it changes.

Indexes: synthetic corpora of 25k, 250k and 1M chunks (benchmarks/synthetic.py: NewsArticles
passages recombined, vectors mixed from their real MiniLM vectors), built once and cached, and the
real NewsArticles index (a copy of a migrated one; `--newsarticles DIR`). At each size:

  * add 1 article, replace 1, remove 1 (median of 5, `qa.ingest.ingest`/`remove` in process, the
    real encoder loaded beforehand: chunking, encoding, the commit) and, apart, the segment merges
    each write makes due (`maintain()`, which `ingest` runs after the commit), add 100 articles;
    time and bytes written (`/proc/self/io` write_bytes);
  * search p50/p95 for dense, bm25 and hybrid (query encoding included) and the reader's RSS, in a
    fresh reader process over real NewsArticles titles, after one warm-up pass over them;
  * `qa optimize` (merge everything) time and bytes; recall@10 of approximate dense search against
    exact search where the index is approximate.

With `--old-code DIR --old-index V1_INDEX` the one-generation store (main's code at DIR) adds one
article to a copy of a format-1 index in the same run: the baseline of the NewsArticles row.

    python -m benchmarks.write [--sizes 25000,250000,1000000] [--newsarticles DIR] [--cache DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent

from benchmarks.common import machine  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks import synthetic  # noqa: E402
from qa.encoders import load_encoder  # noqa: E402
from qa.ingest import ingest, remove  # noqa: E402
from qa.reading.demo import demo_rows  # noqa: E402
from qa.stores import open_index  # noqa: E402
from qa.types import Article  # noqa: E402

GOALS = {"add1_s": 0.3, "add1_s_1m": 1.0, "add1_bytes_over_article": 1_000_000, "hybrid_p50_ms": 25, "hybrid_p50_ms_1m": 60,
         "rss_mb": 800, "rss_mb_1m": 2048, "recall_1m": 0.95}
READER = r"""
import json, sys, time
from qa.encoders import load_encoder
from qa.retrieval import Retriever
index, queries = sys.argv[1], json.loads(open(sys.argv[2]).read())
r = Retriever.load(index, encoder=load_encoder())
for q in queries: r.search(q, 10, per_article=1)  # warm: the pages these queries need are in the page cache
out, times = {}, {"dense": [], "bm25": [], "hybrid": []}
modes = list(times)
for i, q in enumerate(queries):  # the modes take turns, in a rotating order: a noisy moment hits them alike
    for mode in modes[i % 3:] + modes[: i % 3]:
        t = time.perf_counter(); r.search(q, 10, per_article=1, mode=mode); times[mode].append((time.perf_counter() - t) * 1000)
for mode, ts in times.items():
    ts.sort()
    out[mode] = {"p50": round(ts[len(ts) // 2], 2), "p95": round(ts[int(len(ts) * 0.95)], 2)}
t = time.perf_counter(); r.refresh(); out["refresh_check_us"] = round((time.perf_counter() - t) * 1e6, 1)
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
out["rss_mb"] = round(int(status["VmRSS"].split()[0]) / 1024, 1)
out["peak_rss_mb"] = round(int(status["VmHWM"].split()[0]) / 1024, 1)
print(json.dumps(out))
"""
OLD_ADD = r"""
import json, sys, time
from qa.encoders import load_encoder
from qa.ingest import ingest
from qa.types import Article
enc = load_encoder(); enc.encode(["warm up"])
a = Article(**json.loads(sys.argv[2]))
io = lambda: int(dict(l.split(":") for l in open("/proc/self/io"))["write_bytes"])
b0, t0 = io(), time.perf_counter()
ingest([a], sys.argv[1], encoder=enc)
print(json.dumps({"add1_s": time.perf_counter() - t0, "add1_bytes": io() - b0}))
"""


def written() -> int:
    """Bytes this process has caused to be written to storage so far."""
    with open("/proc/self/io") as fh:
        return int(dict(line.split(":") for line in fh)["write_bytes"])


def measured(fn: Callable[[], Any]) -> tuple[float, int]:
    b0, t0 = written(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, written() - b0


def build_synthetic(path: Path, n_chunks: int, source: synthetic.Source, manifest: Any) -> dict[str, Any]:
    """A synthetic index of n_chunks passages, merged into one segment; cached at `path`."""
    facts = path / "build.json"
    if facts.exists():
        return json.loads(facts.read_text())
    shutil.rmtree(path, ignore_errors=True)
    index = open_index(path)
    t0 = time.perf_counter()
    with index.writer(manifest) as w:
        for article, chunks, vectors in synthetic.articles(source, n_chunks):
            w.put(article, chunks, vectors)
    written_s = time.perf_counter() - t0
    report = index.optimize()
    out = {"chunks": n_chunks, "write_s": round(written_s, 1), "optimize_s": round(report.seconds, 1),
           "built_at": time.strftime("%Y-%m-%d %H:%M")}
    facts.write_text(json.dumps(out, indent=2) + "\n")
    return out


def news_article(rows: list[dict], rng: random.Random, tag: str) -> Article:
    """A real NewsArticles text under a new id (so it is an add, not an unchanged re-ingest)."""
    row = rng.choice(rows)
    return Article(f"bench-{tag}", row["text"].strip(), title=row["title"].strip(), url=f"https://bench.example/{tag}",
                   published="", source="bench.example")


def measure_writes(index_dir: Path, encoder: Any, rows: list[dict], run: str) -> dict[str, Any]:
    rng = random.Random(run)
    out: dict[str, Any] = {}
    ops: dict[str, list[tuple[float, int]]] = {"add1": [], "replace1": [], "remove1": [], "merges": []}
    sizes = []
    index = open_index(index_dir)
    for i in range(5):  # each write is committed first; the merges it makes due are measured apart
        a = news_article(rows, rng, f"{run}-{i}")
        sizes.append(len(a.text.encode()))
        ops["add1"].append(measured(lambda: ingest([a], index_dir, encoder=encoder, merge=False)))
        ops["merges"].append(measured(index.maintain))
        changed = Article(a.id, a.text + " An update was added to this story.", a.title, a.url, a.published, a.source)
        ops["replace1"].append(measured(lambda: ingest([changed], index_dir, encoder=encoder, merge=False)))
        ops["merges"].append(measured(index.maintain))
        ops["remove1"].append(measured(lambda: remove([a.id], index_dir, merge=False)))
        ops["merges"].append(measured(index.maintain))
    for name, values in ops.items():
        out[f"{name}_s"] = round(statistics.median(t for t, _ in values), 3)
        out[f"{name}_s_max"] = round(max(t for t, _ in values), 3)
        out[f"{name}_bytes"] = int(statistics.median(b for _, b in values))
        out[f"{name}_bytes_max"] = max(b for _, b in values)
    out["article_bytes"] = int(statistics.median(sizes))
    batch = [news_article(rows, rng, f"{run}-b{i}") for i in range(100)]
    out["add100_s"], out["add100_bytes"] = measured(lambda: ingest(batch, index_dir, encoder=encoder))
    remove([a.id for a in batch], index_dir)
    return out


def reader_process(index_dir: Path, queries: list[str], work: Path) -> dict[str, Any]:
    qfile = work / "queries.json"
    qfile.write_text(json.dumps(queries))
    env = {**os.environ, "PYTHONPATH": str(ROOT.parent)}
    result = subprocess.run([sys.executable, "-c", READER, str(index_dir), str(qfile)], capture_output=True, text=True,
                            env=env, timeout=3600)
    if result.returncode:
        raise RuntimeError(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def dense_recall(index_dir: Path, encoder: Any, queries: list[str]) -> float | None:
    """Recall@10 of the index's dense search against exact search over every live vector."""
    reader = open_index(index_dir).reader()
    if not reader.stats()["approximate_segments"]:
        return None
    ids = np.array([cid for cid, *_ in reader.iter_chunks()], dtype=np.int64)
    q = encoder.encode(queries)
    truth = np.zeros((len(q), 10), dtype=np.int64)
    best = np.full((len(q), 10), -np.inf, dtype=np.float32)
    for start in range(0, len(ids), 100_000):
        block = ids[start : start + 100_000]
        scores = q @ reader.vectors(block).T
        merged = np.concatenate([best, scores], axis=1)
        keys = np.concatenate([truth, np.tile(block, (len(q), 1))], axis=1)
        top = np.argsort(-merged, axis=1)[:, :10]
        best, truth = np.take_along_axis(merged, top, 1), np.take_along_axis(keys, top, 1)
    found = reader.search_dense(q, 10)
    return round(float(np.mean([len(set(t) & {c for c, _ in f}) / 10 for t, f in zip(truth, found)])), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="25000,250000,1000000")
    parser.add_argument("--newsarticles", type=Path, default=None, help="a NewsArticles index (format 2; copied, never changed)")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "write")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--old-code", type=Path, default=None, help="a checkout of the one-generation store (main)")
    parser.add_argument("--old-index", type=Path, default=None, help="a format-1 NewsArticles index for --old-code")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "write.json")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    rows = [r for r in demo_rows("NewsArticles") if r["text"].strip() and r["title"].strip()]
    queries = [r["title"].strip() for r in random.Random(7).sample(rows, args.queries)]
    encoder = load_encoder()
    scratch = args.cache / "warm-up"  # the first ingest of a process pays one-time costs (imports, sessions)
    shutil.rmtree(scratch, ignore_errors=True)
    ingest([news_article(rows, random.Random(0), "warm")], scratch, encoder=encoder)
    shutil.rmtree(scratch, ignore_errors=True)
    targets: list[tuple[str, Path, dict[str, Any]]] = []
    if args.newsarticles:
        copy = args.cache / "newsarticles"
        if not (copy / "manifest.json").exists():
            shutil.copytree(args.newsarticles, copy)
        targets.append(("NewsArticles", copy, {"source": str(args.newsarticles)}))
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if sizes:
        src_dir = args.newsarticles or args.cache / "newsarticles"
        reader = open_index(src_dir).reader()
        source, manifest = synthetic.Source.load(reader), reader.manifest
        for n in sizes:
            path = args.cache / f"synthetic-{n}"
            print(f"synthetic index of {n} chunks: {path}", file=sys.stderr)
            targets.append((f"{n // 1000}k chunks" if n < 1_000_000 else f"{n / 1e6:g}M chunks", path,
                            build_synthetic(path, n, source, manifest)))
    results: dict[str, Any] = {}
    run = time.strftime("%Y%m%d%H%M%S")
    for name, path, build in targets:
        print(f"{name}: writes", file=sys.stderr)
        r: dict[str, Any] = {"build": build, **measure_writes(path, encoder, rows, run)}
        print(f"{name}: reader", file=sys.stderr)
        r.update(reader_process(path, queries, args.cache))
        r["recall@10"] = dense_recall(path, encoder, queries)
        r["stats"] = open_index(path).reader().stats()
        print(f"{name}: optimize", file=sys.stderr)
        report_time, r["optimize_bytes"] = measured(lambda: r.__setitem__("optimize", open_index(path).optimize()))
        r["optimize_s"] = round(report_time, 2)
        r["optimize"] = r["optimize"].summary()
        results[name] = r
    if args.old_code and args.old_index:
        results["NewsArticles, one-generation store (main)"] = old_store(args.old_code, args.old_index, rows, args.cache)
    doc = {"machine": machine(),
           "run": run, "goals": GOALS, "results": results}
    print(table(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


def old_store(code: Path, v1_index: Path, rows: list[dict], cache: Path) -> dict[str, Any]:
    """One article added to a copy of a format-1 index by the one-generation store's own code."""
    copy = cache / "old-store-v1"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(v1_index, copy)
    a = news_article(rows, random.Random("old"), "old-1")
    env = {**os.environ, "PYTHONPATH": str(code)}
    result = subprocess.run([sys.executable, "-c", OLD_ADD, str(copy), json.dumps(a.__dict__)], capture_output=True,
                            text=True, env=env, timeout=3600, cwd=code)
    if result.returncode:
        raise RuntimeError(result.stderr)
    out = json.loads(result.stdout.strip().splitlines()[-1])
    shutil.rmtree(copy, ignore_errors=True)
    return {"add1_s": round(out["add1_s"], 3), "add1_bytes": out["add1_bytes"], "article_bytes": len(a.text.encode())}


def table(results: dict[str, Any]) -> str:
    names = list(results)
    def cell(r: dict[str, Any], key: str, fmt: str = "{}") -> str:
        return fmt.format(r[key]) if r.get(key) is not None else "-"
    lines = ["| measure | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    spec = [("add 1 article, s (max)", lambda r: f"{cell(r, 'add1_s')} ({cell(r, 'add1_s_max')})"),
            ("add 1, bytes written (article's own size)", lambda r: f"{_mb(r.get('add1_bytes'))} ({_mb(r.get('article_bytes'))})"),
            ("replace 1, s / bytes", lambda r: f"{cell(r, 'replace1_s')} / {_mb(r.get('replace1_bytes'))}"),
            ("remove 1, s / bytes", lambda r: f"{cell(r, 'remove1_s')} / {_mb(r.get('remove1_bytes'))}"),
            ("merges after a write, median / max s; median / max bytes", lambda r: f"{cell(r, 'merges_s')} / "
             f"{cell(r, 'merges_s_max')} s; {_mb(r.get('merges_bytes'))} / {_mb(r.get('merges_bytes_max'))}"),
            ("add 100, s / bytes", lambda r: f"{cell(r, 'add100_s', '{:.1f}')} / {_mb(r.get('add100_bytes'))}"),
            ("dense p50 / p95 ms", lambda r: _lat(r, "dense")), ("bm25 p50 / p95 ms", lambda r: _lat(r, "bm25")),
            ("hybrid p50 / p95 ms", lambda r: _lat(r, "hybrid")),
            ("reader RSS MB (peak)", lambda r: f"{cell(r, 'rss_mb')} ({cell(r, 'peak_rss_mb')})"),
            ("refresh check, µs", lambda r: cell(r, "refresh_check_us")),
            ("recall@10, approximate vs exact", lambda r: cell(r, "recall@10")),
            ("optimize (full merge), s / bytes", lambda r: f"{cell(r, 'optimize_s')} / {_mb(r.get('optimize_bytes'))}")]
    for label, fn in spec:
        lines.append(f"| {label} | " + " | ".join(fn(results[n]) for n in names) + " |")
    return "\n".join(lines)


def _mb(n: int | None) -> str:
    return "-" if n is None else f"{n / 1e6:.2f} MB" if n >= 100_000 else f"{n / 1e3:.0f} KB"


def _lat(r: dict[str, Any], mode: str) -> str:
    return f"{r[mode]['p50']} / {r[mode]['p95']}" if mode in r else "-"


if __name__ == "__main__":
    main()
