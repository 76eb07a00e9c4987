"""The Milvus backends against the local one, side by side in one run: quality, search latency, ingest rate, RSS.

Protocol (as benchmarks/retrieval.py): the corpus's articles are indexed by their body only;
the titles (and non-empty subtitles) of a seeded sample of articles are queries whose one relevant
article is their own (article-level ranking, `per_article=1`, k = 10). The same default encoder
serves every index, and every store holds the same vectors:

- local: the default index folder (SQLite catalog, FAISS, own BM25 with stemming);
- milvus-lite: a `milvus:FILE.db` file (milvus-lite 3 in this process; `standard` analyzer);
- milvus-server: `milvus://127.0.0.1:PORT/bench` on a `milvus-lite server` (milvus-lite 3 over gRPC);
- milvus-2.5: the same URI on the milvus-lite 2.5.1 binary (the Milvus 2.5 C++ engine; `english`
  analyzer), from .venv/milvus-lite-2.5.1 or $QA_MILVUS_LITE25_PATH;
- ingest rate: a local ingest against `qa ingest --ray` (local Ray, num_cpus=2, into a local index).

With `--index DIR` (a body-only local index of the corpus, e.g. the one benchmarks/ingest.py
builds), nothing is encoded: the local store is DIR itself and the Milvus stores are filled by
reading DIR's rows and vectors and writing them through each Milvus writer (the copy rate is reported).

    python -m benchmarks.scale [--corpus News100|NewsArticles] [--sample N] [--queries N] [--seed 0]
                               [--index DIR] [--stores local,milvus-lite,...] [--no-ray]

Prints a Markdown table and writes benchmarks/results/scale.json (with per-query MRR@10, each MRR@10's
bootstrap 95% interval, the paired-bootstrap 95% interval of each Milvus form's MRR@10 difference from local,
and whether each Milvus form's MRR@10 lies within local's 95% interval: the parity table).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

ROOT = Path(__file__).resolve().parent

from benchmarks.common import copy_stored, machine  # noqa: E402
from qa.encoders import load_encoder  # noqa: E402
from qa.evaluation import metrics  # noqa: E402
from qa.ingest import ingest  # noqa: E402
from qa.reading.demo import demo_articles, demo_rows  # noqa: E402
from qa.retrieval import Retriever  # noqa: E402

K = 10
MODES = ("dense", "bm25", "hybrid")
STORES = ("local", "milvus-lite", "milvus-server", "milvus-2.5")


def rss_mb(pid: int | None = None) -> float:
    """Resident memory now (MB) of a process (this one by default)."""
    try:
        for line in Path(f"/proc/{pid or 'self'}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="News100", choices=["News100", "NewsArticles"])
    parser.add_argument("--sample", type=int, default=0, help="articles indexed (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--index", type=Path, help="a body-only local index of the corpus to copy (nothing is encoded)")
    parser.add_argument("--queries", type=int, default=0, help="articles whose title/subtitle are queries (0: all)")
    parser.add_argument("--ray-sample", type=int, default=0, help="articles the ingest-rate run encodes (0: all)")
    parser.add_argument("--out", type=Path, help="results JSON (default benchmarks/results/scale.json, "
                        "scale-newsarticles.json for NewsArticles)")
    parser.add_argument("--stores", default=",".join(STORES), help=f"comma-separated, of {', '.join(STORES)}")
    args = parser.parse_args()
    names = [n.strip() for n in args.stores.split(",") if n.strip()]
    if unknown := set(names) - set(STORES):
        parser.error(f"unknown stores: {', '.join(sorted(unknown))}")

    rows = {f"news-{r['article_id']}": r for r in demo_rows(args.corpus)}
    if args.index:
        from qa.stores import open_index

        source = open_index(args.index)
        articles = source.reader().articles()
    else:
        articles = demo_articles(args.corpus, with_title=False)
        if args.sample:
            articles = random.Random(args.seed).sample(articles, min(args.sample, len(articles)))
    asked = sorted(a.id for a in articles)
    if args.queries:
        asked = random.Random(args.seed).sample(asked, min(args.queries, len(asked)))
    queries = {"title": [(rows[i]["title"].strip(), i) for i in asked if rows[i]["title"].strip()],
               "subtitle": [(rows[i]["subtitle"].strip(), i) for i in asked if rows[i]["subtitle"].strip()]}
    encoder = load_encoder()
    work = Path(tempfile.mkdtemp(prefix="qa-scale-"))
    from tests.milvus_server import Lite25Server, LiteServer, lite25_folder

    servers: dict[str, Any] = {}
    if "milvus-server" in names:
        servers["milvus-server"] = LiteServer(work / "server")
    if "milvus-2.5" in names:
        folder = lite25_folder()
        if folder is None:
            parser.error("milvus-2.5: milvus-lite 2.5.1 is not in .venv/milvus-lite-2.5.1 or $QA_MILVUS_LITE25_PATH")
        servers["milvus-2.5"] = Lite25Server(work / "server25", folder)
    where = {"local": str(args.index or work / "local"), "milvus-lite": f"milvus:{work / 'lite.db'}",
             **{name: server.uri("bench") for name, server in servers.items()}}
    stores = {name: where[name] for name in names}
    doc: dict[str, Any] = {"corpus": args.corpus, "articles": len(articles), "queries": {k: len(v) for k, v in queries.items()},
                           "copied_from": str(args.index) if args.index else None, "seed": args.seed,
                           "machine": machine(), "stores": {}}
    per_query: dict[str, dict[str, list[float]]] = {}
    out = args.out or ROOT / "results" / ("scale-newsarticles.json" if args.corpus == "NewsArticles" else "scale.json")
    partial = out.with_suffix(".partial.json")
    try:
        encoder.encode(["warm up"] * 8)
        for name, location in stores.items():
            rss0 = rss_mb()
            entry: dict[str, Any]
            if args.index and name == "local":
                entry = {"chunks": source.reader().count()}
            else:
                t0 = time.perf_counter()
                chunks = copy_index(source, location) if args.index else ingest(articles, location, encoder=encoder).chunks
                seconds = time.perf_counter() - t0
                rate = "copy_chunks_per_s" if args.index else "ingest_chunks_per_s"
                entry = {"ingest_s": round(seconds, 2), "chunks": chunks, rate: round(chunks / seconds, 1)}
            print(f"{name}: {entry}", file=sys.stderr)
            retriever = Retriever.load(location, encoder=encoder)
            for mode in MODES:
                metrics_, rr = run(retriever, queries, mode)
                entry[mode] = metrics_
                per_query[f"{name}/{mode}"] = rr
            entry["rss_mb_client_delta"] = round(rss_mb() - rss0, 1)
            if name in servers:
                entry["rss_mb_server"] = rss_mb(servers[name].process.pid)
            doc["stores"][name] = entry
            partial.write_text(json.dumps({**doc, "per_query_mrr@10": per_query}) + "\n")  # what a stopped run measured
            print(f"{name}: {entry}", file=sys.stderr)
        doc["differences"] = {}
        for name in [n for n in stores if n != "local" and "local" in stores]:
            for mode in MODES:
                a, b = per_query[f"{name}/{mode}"], per_query[f"local/{mode}"]
                diff, low, high = metrics.paired_difference(a, b)
                local = doc["stores"]["local"][mode]["mrr@10_ci95"]
                within = local[0] <= doc["stores"][name][mode]["mrr@10"] <= local[1]
                doc["differences"][f"{name}/{mode}"] = {"mrr@10 diff": round(diff, 4), "ci95": [round(low, 4), round(high, 4)],
                                                        "within_local_ci95": within}
        if not args.no_ray:
            rated = random.Random(args.seed).sample(articles, args.ray_sample) if args.ray_sample else articles
            doc["ray"] = ray_run(rated, work)
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    doc["rss_mb_benchmark_process"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    doc["per_query_mrr@10"] = per_query
    out.write_text(json.dumps(doc, indent=1) + "\n")
    partial.unlink(missing_ok=True)
    print(table(doc))
    print(f"wrote {out}", file=sys.stderr)


def copy_index(source: Any, location: str, batch: int = 64) -> int:
    """Write a local index's articles, chunks and stored vectors through another store's writer; the chunks copied."""
    from qa.stores import open_index

    reader = source.reader()
    with open_index(location).writer(source.manifest()) as writer:
        return copy_stored(reader, writer, reader.articles(), batch)


def run(retriever: Retriever, queries: dict[str, list[tuple[str, str]]], mode: str) -> tuple[dict[str, Any], list[float]]:
    """MRR@10 and R@10 over every query (titles and subtitles), and single-query latency."""
    search = lambda q: metrics.dedupe(h.article_id for h in retriever.search(q, K, per_article=1, mode=mode))  # noqa: E731
    for q, _ in queries["title"][:5]:
        search(q)
    rr, r10, latencies = [], [], []
    for qs in queries.values():
        for q, relevant in qs:
            t0 = time.perf_counter()
            ranked = search(q)
            latencies.append((time.perf_counter() - t0) * 1000)
            rr.append(metrics.mrr_at(ranked, [relevant], K))
            r10.append(metrics.recall_at(ranked, [relevant], K))
    return {"mrr@10": round(metrics.mean(rr), 4), "mrr@10_ci95": interval(rr), "recall@10": round(metrics.mean(r10), 4),
            "p50_ms": round(metrics.percentile(latencies, 50), 2), "p95_ms": round(metrics.percentile(latencies, 95), 2)}, rr


def interval(values: list[float], rounds: int = 2000, seed: int = 0) -> list[float]:
    """The bootstrap 95% interval of the mean."""
    data = np.asarray(values, dtype=float)
    means = data[np.random.default_rng(seed).integers(0, len(data), (rounds, len(data)))].mean(axis=1)
    return [round(float(np.percentile(means, 2.5)), 4), round(float(np.percentile(means, 97.5)), 4)]


def ray_run(articles: list[Any], work: Path) -> dict[str, Any]:
    """A local ingest and a `--ray` ingest (local Ray, 2 CPUs, 2 actors of 1 thread) of the same articles."""
    import ray

    from qa.ray_ingest import ray_ingest

    encoder = load_encoder()
    t0 = time.perf_counter()
    local = ingest(articles, work / "rate-local", encoder=encoder)
    local_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    start_s = time.perf_counter() - t0
    try:
        t0 = time.perf_counter()
        remote = ray_ingest(articles, work / "rate-ray", actors=2, threads=1)
        ray_s = time.perf_counter() - t0
    finally:
        ray.shutdown()
    assert remote.chunks == local.chunks
    return {"chunks": local.chunks, "local_s": round(local_s, 2), "ray_s": round(ray_s, 2), "ray_start_s": round(start_s, 2),
            "local_chunks_per_s": round(local.chunks / local_s, 1), "ray_chunks_per_s": round(remote.chunks / ray_s, 1),
            "ray_over_local": round(local_s / ray_s, 3)}


def table(doc: dict[str, Any]) -> str:
    lines = [f"{doc['corpus']}: {doc['articles']} articles, {sum(doc['queries'].values())} known-item queries (titles, subtitles)",
             "", "| store | mode | MRR@10 [95% CI] | R@10 | p50 ms | p95 ms | MRR@10 diff vs local [95% CI] | within local's interval |",
             "|---|---|---|---|---|---|---|---|"]
    for name, entry in doc["stores"].items():
        for mode in MODES:
            m = entry[mode]
            d = doc.get("differences", {}).get(f"{name}/{mode}")
            shown = f"{d['mrr@10 diff']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]" if d else "-"
            within = ("yes" if d["within_local_ci95"] else "no") if d and "within_local_ci95" in d else "-"
            ci = m.get("mrr@10_ci95")
            mrr = f"{m['mrr@10']:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else f"{m['mrr@10']:.3f}"
            lines.append(f"| {name} | {mode} | {mrr} | {m['recall@10']:.3f} | {m['p50_ms']:.1f} | {m['p95_ms']:.1f} | {shown} | {within} |")
    copied = bool(doc.get("copied_from"))
    if copied:
        lines[0] += f"; the stores hold the vectors of {doc['copied_from']} (copied, not encoded again)"
        lines += ["", "| store | write s | chunks/s (copy) | client RSS +MB | server RSS MB |", "|---|---|---|---|---|"]
    else:
        lines += ["", "| store | ingest s | chunks/s | client RSS +MB | server RSS MB |", "|---|---|---|---|---|"]
    for name, entry in doc["stores"].items():
        rate = entry.get("copy_chunks_per_s" if copied else "ingest_chunks_per_s")
        lines.append(f"| {name} | {entry.get('ingest_s', '-')} | {'-' if rate is None else f'{rate:.0f}'} | "
                     f"{entry['rss_mb_client_delta']:.0f} | {entry.get('rss_mb_server', '-')} |")
    if "ray" in doc:
        r = doc["ray"]
        lines += ["", f"ingest of {r['chunks']} chunks: local {r['local_chunks_per_s']:.0f} chunks/s, --ray {r['ray_chunks_per_s']:.0f}"
                  f" chunks/s (ratio {r['ray_over_local']:.2f}; Ray start {r['ray_start_s']:.1f} s not counted)"]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
