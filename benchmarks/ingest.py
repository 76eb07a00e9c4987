"""Ingest throughput: `qa` ingest versus raw encoding of the same chunks, and re-ingest cost.

Builds the body-only NewsArticles index (titles left out, as the retrieval benchmark needs) at
benchmarks/.cache/newsarticles-body, then:
  1. times the first ingest (clean -> chunk -> encode -> store) and reports chunks/s;
  2. times the same encoder's raw `encode` over a seeded random sample of the same chunk texts
     (the pipeline's overhead), and plain `SentenceTransformer.encode` (torch, its default batch
     of 64) over that sample (what the backend buys);
  3. times re-ingesting the unchanged corpus (content hashes: nothing to encode).
Prints a Markdown table and writes benchmarks/results/ingest-<corpus>.json.

    python -m benchmarks.ingest [--corpus NewsArticles] [--limit N] [--sample 0.1] [--backend onnx-int8]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent

from benchmarks.common import machine  # noqa: E402
from qa import config  # noqa: E402
from qa.encoders import load_encoder, load_sentence_transformer, resolve_model  # noqa: E402
from qa.ingest import ingest  # noqa: E402
from qa.reading.demo import demo_articles  # noqa: E402
from qa.stores import open_index  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="NewsArticles", choices=["News100", "NewsArticles"])
    parser.add_argument("--limit", type=int, default=0, help="only the first N articles (0: all)")
    parser.add_argument("--sample", type=float, default=0.1, help="fraction of chunks for the raw-encode baselines")
    parser.add_argument("--backend", default=config.ENCODER_BACKEND, choices=config.ENCODER_BACKENDS)
    parser.add_argument("--out", type=Path, default=None, help="index directory (default benchmarks/.cache/<corpus>-body)")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    articles = demo_articles(args.corpus, with_title=False)
    if args.limit:
        articles = articles[: args.limit]
    target = args.out or ROOT / ".cache" / f"{args.corpus.lower()}-body{'' if args.backend == config.ENCODER_BACKEND else '-' + args.backend}"
    building = target.with_name(target.name + ".building")
    shutil.rmtree(building, ignore_errors=True)

    encoder = load_encoder(backend=args.backend)
    encoder.encode(["warm up the model"])

    t0, c0 = time.perf_counter(), time.process_time()
    report = ingest(articles, building, encoder=encoder, progress=True)
    first_s, first_cpu = time.perf_counter() - t0, time.process_time() - c0
    n_chunks = report.chunks

    t0 = time.perf_counter()
    again = ingest(articles, building, encoder=encoder, progress=False)
    reingest_s = time.perf_counter() - t0
    assert not again.added and not again.replaced, again.summary()

    store = open_index(building).reader()
    by_id = {a.id: a for a in articles}
    texts = []  # exactly what the ingest encoded (qa.ingest.embed_text): "title\ntext", or the text alone
    for _, article_id, _, text in store.iter_chunks():
        texts.append(text if not by_id[article_id].title else f"{by_id[article_id].title}\n{text}")
    store.close()
    rng = random.Random(args.seed)
    sample = rng.sample(texts, max(1, int(len(texts) * args.sample)))
    t0, c0 = time.perf_counter(), time.process_time()
    encoder.encode(sample)  # the very encoder the ingest used, on the same chunks, without the pipeline
    raw_s, raw_cpu = time.perf_counter() - t0, time.process_time() - c0
    library = load_sentence_transformer(resolve_model(encoder.name))  # plain sentence-transformers, its defaults
    library.encode(sample[:8])
    t0 = time.perf_counter()
    library.encode(sample, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    library_s = time.perf_counter() - t0

    shutil.rmtree(target, ignore_errors=True)
    os.replace(building, target)

    ingest_rate = n_chunks / first_s
    raw_rate = len(sample) / raw_s
    result = {
        "corpus": args.corpus,
        "articles": len(articles),
        "chunks": n_chunks,
        "model": encoder.name,
        "backend": encoder.backend,
        "first_ingest_s": round(first_s, 2),
        "ingest_chunks_per_s": round(ingest_rate, 2),
        "raw_encode_sample_chunks": len(sample),
        "raw_encode_s": round(raw_s, 2),
        "raw_encode_chunks_per_s": round(raw_rate, 2),
        "ingest_vs_raw_ratio": round(ingest_rate / raw_rate, 3),
        "library_encode_chunks_per_s": round(len(sample) / library_s, 2),
        "ingest_vs_library_ratio": round(ingest_rate / (len(sample) / library_s), 3),
        "first_ingest_cpu_s": round(first_cpu, 2),
        "raw_encode_cpu_s": round(raw_cpu, 2),
        "ingest_vs_raw_ratio_cpu_time": round((n_chunks / first_cpu) / (len(sample) / raw_cpu), 3),
        "reingest_unchanged_s": round(reingest_s, 2),
        "reingest_fraction_of_first": round(reingest_s / first_s, 4),
        "machine": machine(),
        "index": str(target),
    }
    print(_table(result))
    suffix = ("" if args.backend == config.ENCODER_BACKEND else f"-{args.backend}") + (f"-limit{args.limit}" if args.limit else "")
    out = ROOT / "results" / f"ingest-{args.corpus.lower()}{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {out}")


def _table(r: dict[str, object]) -> str:
    rows = [
        ("articles / chunks", f"{r['articles']} / {r['chunks']}"),
        ("qa ingest (clean, chunk, encode, store)", f"{r['ingest_chunks_per_s']} chunks/s ({r['first_ingest_s']} s)"),
        (f"raw encode, same {r['backend']} encoder, same chunks", f"{r['raw_encode_chunks_per_s']} chunks/s ({r['raw_encode_sample_chunks']}-chunk sample)"),
        ("ratio ingest / raw, wall clock (goal >= 0.9)", f"{r['ingest_vs_raw_ratio']}"),
        ("plain SentenceTransformer.encode (torch, batch 64)", f"{r['library_encode_chunks_per_s']} chunks/s"),
        ("ratio ingest / plain sentence-transformers", f"{r['ingest_vs_library_ratio']}"),
        ("ratio ingest / raw, process CPU time", f"{r['ingest_vs_raw_ratio_cpu_time']}"),
        ("re-ingest unchanged corpus", f"{r['reingest_unchanged_s']} s"),
        ("re-ingest / first ingest (goal <= 5%)", f"{100 * float(r['reingest_fraction_of_first']):.2f}%"),
    ]
    width = max(len(a) for a, _ in rows)
    lines = [f"| {'measure':<{width}} | value |", f"|{'-' * (width + 2)}|-------|"]
    lines += [f"| {a:<{width}} | {b} |" for a, b in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
