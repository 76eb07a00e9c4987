"""Keyword engines compared for the index: our BM25 segments, bm25s, tantivy 0.27 and SQLite FTS5, on the same tokens.

Every engine gets the same pre-tokenized documents (qa.lexical: stopwords out, Snowball stems;
tantivy with its whitespace tokenizer, FTS5 with unicode61 over the tokens joined by spaces):

  * quality: known-item MRR@10 on NewsArticles (body only; the retrieval benchmark's seeded title and
    subtitle queries), from BM25 over passages (each article ranked at its best passage) and BM25
    over whole articles, the two keyword signals of the retriever;
  * search: top-100 passage query p50/p95 on NewsArticles and on a synthetic index of --synthetic
    passages (NewsArticles passages' token halves recombined);
  * writes: build time of the synthetic index, then one more document made durable: time and bytes
    written (for ours, the keyword part of a new segment file; for bm25s, its only way: a rebuild).

    python -m benchmarks.keywords --index benchmarks/.cache/newsarticles-body [--synthetic 250000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent

from benchmarks.common import machine  # noqa: E402
import numpy as np  # noqa: E402

from qa.evaluation import metrics  # noqa: E402
from qa.lexical import term_id, tokenize  # noqa: E402
from qa.reading.demo import demo_rows  # noqa: E402
from qa.stores import open_index  # noqa: E402
from qa.stores.local import keywords  # noqa: E402
from qa.stores.local.arrays import write_arrays  # noqa: E402

Docs = list[list[str]]


def written() -> int:
    with open("/proc/self/io") as fh:
        return int(dict(line.split(":") for line in fh)["write_bytes"])


class Ours:
    """qa.stores.local.keywords: raw term counts per segment, BM25 at query time with live statistics."""

    name = "ours (keyword segments)"

    def build(self, docs: Docs, folder: Path) -> None:
        self.folder, self.ids = folder, {}
        self.parts = [self._part(docs, 0)]
        self.n, self.total = len(docs), float(sum(map(len, docs)))

    def _part(self, docs: Docs, offset: int) -> keywords.Part:
        terms = [np.fromiter((self.ids.setdefault(t, term_id(t)) for t in d), np.int64, len(d)) for d in docs]
        postings = keywords.Postings.build(terms)
        n = len(docs)
        return keywords.Part(postings, np.arange(offset, offset + n), np.ones(n, bool))

    def search(self, tokens: list[str], k: int) -> list[int]:
        ids = np.fromiter((term_id(t) for t in tokens), np.int64, len(tokens))
        return [d for d, _ in keywords.search(self.parts, ids, k, self.n, self.total)]

    def add(self, doc: list[str]) -> None:
        part = self._part([doc], self.n)
        write_arrays(self.folder / f"{self.n}.seg", part.postings.arrays("kw"))  # fsynced
        self.parts.append(part)
        self.n, self.total = self.n + 1, self.total + len(doc)


class Bm25s:
    """bm25s: scores precomputed with one corpus's statistics, so any change means a rebuild (the old design)."""

    name = "bm25s (rebuild per write)"

    def build(self, docs: Docs, folder: Path) -> None:
        import bm25s

        self.folder, self.docs = folder, docs
        self.model = bm25s.BM25()
        self.model.index(docs, show_progress=False)

    def search(self, tokens: list[str], k: int) -> list[int]:
        tokens = [t for t in tokens if t in self.model.vocab_dict]
        if not tokens:
            return []
        docs, scores = self.model.retrieve([tokens], k=min(k, len(self.docs)), show_progress=False, n_threads=1)
        return [int(d) for d, s in zip(docs[0], scores[0]) if s > 0]

    def add(self, doc: list[str]) -> None:
        self.build(self.docs + [doc], self.folder)
        self.model.save(str(self.folder / "bm25s"), show_progress=False)


class Tantivy:
    """tantivy 0.27: Lucene-like segments, merges, deletes and corpus-wide BM25 (k1 1.2, b 0.75, quantised lengths)."""

    name = "tantivy 0.27"

    def build(self, docs: Docs, folder: Path) -> None:
        import tantivy

        sb = tantivy.SchemaBuilder()
        sb.add_integer_field("id", stored=False, indexed=True, fast=True)  # add_unsigned_field killed the writer
        sb.add_text_field("body", tokenizer_name="whitespace", index_option="freq")
        self.schema = sb.build()
        self.index = tantivy.Index(self.schema, path=str(folder))
        writer = self.index.writer(heap_size=300_000_000, num_threads=1)
        for i, d in enumerate(docs):
            writer.add_document(tantivy.Document(id=i, body=" ".join(d)))
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.searcher, self.n = self.index.searcher(), len(docs)

    def search(self, tokens: list[str], k: int) -> list[int]:
        import tantivy

        if not tokens:
            return []
        query = tantivy.Query.boolean_query([(tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "body", t))
                                             for t in tokens])
        hits = self.searcher.search(query, k, count=False).hits
        return self.searcher.fast_field_values("id", [a for _, a in hits])

    def add(self, doc: list[str]) -> None:
        import tantivy

        writer = self.index.writer(heap_size=15_000_000, num_threads=1)
        writer.add_document(tantivy.Document(id=self.n, body=" ".join(doc)))
        writer.commit()
        writer.wait_merging_threads()
        self.n += 1


class Fts5:
    """SQLite FTS5: bm25() inside the catalog's own transactions (k1 1.2, b 0.75, fixed)."""

    name = "SQLite FTS5"

    def build(self, docs: Docs, folder: Path) -> None:
        self.db = sqlite3.connect(folder / "fts.sqlite", isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE VIRTUAL TABLE f USING fts5(body, tokenize='unicode61')")
        self.db.execute("BEGIN")
        self.db.executemany("INSERT INTO f(rowid, body) VALUES (?, ?)", ((i, " ".join(d)) for i, d in enumerate(docs)))
        self.db.execute("COMMIT")
        self.n = len(docs)

    def search(self, tokens: list[str], k: int) -> list[int]:
        if not tokens:
            return []
        expr = " OR ".join(f'"{t}"' for t in tokens)
        return [r[0] for r in self.db.execute("SELECT rowid FROM f WHERE f MATCH ? ORDER BY bm25(f) LIMIT ?", (expr, k))]

    def add(self, doc: list[str]) -> None:
        self.db.execute("INSERT INTO f(rowid, body) VALUES (?, ?)", (self.n, " ".join(doc)))
        self.n += 1


ENGINES: dict[str, Callable[[], Any]] = {"ours": Ours, "bm25s": Bm25s, "tantivy": Tantivy, "fts5": Fts5}


def latency(engine: Any, queries: list[list[str]], k: int = 100) -> dict[str, float]:
    for q in queries[:5]:
        engine.search(q, k)
    times = []
    for q in queries:
        t0 = time.perf_counter()
        engine.search(q, k)
        times.append((time.perf_counter() - t0) * 1000)
    return {"p50": round(float(np.percentile(times, 50)), 2), "p95": round(float(np.percentile(times, 95)), 2)}


def mrr(rankings: list[list[str]], relevant: list[str]) -> float:
    return round(metrics.mean([metrics.mrr_at(metrics.dedupe(r), [a], 10) for r, a in zip(rankings, relevant)]), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True, help="the body-only NewsArticles index (format 2)")
    parser.add_argument("--synthetic", type=int, default=250_000, help="passages of the synthetic write/search index")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "keywords.json")
    args = parser.parse_args()
    reader = open_index(args.index).reader()
    rows = list(reader.iter_chunks())
    passage_docs = tokenize([f"{title}\n{text}" if title else text for _, _, title, text in rows])
    passage_article = [article_id for _, article_id, _, _ in rows]
    articles = reader.articles()
    article_docs = tokenize([f"{a.title}\n{a.text}" if a.title else a.text for a in articles])
    demo = {f"news-{r['article_id']}": r for r in demo_rows("NewsArticles")}
    sample = random.Random(0).sample(sorted(a.id for a in articles), 1000)
    query_sets = {qs: [(demo[i][qs].strip(), i) for i in sample if demo[i][qs].strip()] for qs in ("title", "subtitle")}
    rng = random.Random(1)
    synthetic = [passage_docs[rng.randrange(len(passage_docs))][:20] + passage_docs[rng.randrange(len(passage_docs))][20:]
                 for _ in range(args.synthetic)]
    results: dict[str, Any] = {}
    for key in args.engines.split(","):
        make = ENGINES[key]
        with tempfile.TemporaryDirectory(dir=ROOT / ".cache" if (ROOT / ".cache").exists() else None) as tmp:
            folder = Path(tmp)
            (folder / "p").mkdir(), (folder / "a").mkdir(), (folder / "s").mkdir()
            passages, whole = make(), make()
            t0 = time.perf_counter()
            passages.build(passage_docs, folder / "p")
            build_s = time.perf_counter() - t0
            whole.build(article_docs, folder / "a")
            r: dict[str, Any] = {"build_newsarticles_passages_s": round(build_s, 2)}
            for qs, queries in query_sets.items():
                tokens = tokenize([q for q, _ in queries])
                by_passage = [[passage_article[d] for d in passages.search(t, 100)] for t in tokens]
                by_article = [[articles[d].id for d in whole.search(t, 10)] for t in tokens]
                relevant = [a for _, a in queries]
                r[f"{qs} mrr@10 passages"], r[f"{qs} mrr@10 articles"] = mrr(by_passage, relevant), mrr(by_article, relevant)
            all_queries = tokenize([q for qs in query_sets.values() for q, _ in qs])[:400]
            r["newsarticles_search_ms"] = latency(passages, all_queries)
            del passages, whole
            big = make()
            t0 = time.perf_counter()
            big.build(synthetic, folder / "s")
            r["synthetic_build_s"] = round(time.perf_counter() - t0, 1)
            r["synthetic_search_ms"] = latency(big, all_queries[:200])
            adds = []
            for doc in synthetic[:3]:
                b0, t0 = written(), time.perf_counter()
                big.add(doc)
                adds.append((time.perf_counter() - t0, written() - b0))
            r["one_doc_commit_s"] = round(float(np.median([t for t, _ in adds])), 4)
            r["one_doc_commit_bytes"] = int(np.median([b for _, b in adds]))
            del big
        results[make.name] = r
        print(f"{make.name}: {json.dumps(r)}", file=sys.stderr)
    doc = {"machine": machine(), "synthetic_passages": args.synthetic,
           "newsarticles_passages": len(passage_docs), "results": results}
    print(table(doc))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")


def table(doc: dict[str, Any]) -> str:
    n = doc["synthetic_passages"]
    lines = [f"| engine | title MRR@10 passages / articles | subtitle MRR@10 passages / articles | search p50 / p95 ms, "
             f"NewsArticles | search p50 / p95 ms, {n:,} passages | build {n:,} s | one-document commit |",
             "|---|---|---|---|---|---|---|"]
    for name, r in doc["results"].items():
        lines.append(f"| {name} | {r['title mrr@10 passages']:.3f} / {r['title mrr@10 articles']:.3f} "
                     f"| {r['subtitle mrr@10 passages']:.3f} / {r['subtitle mrr@10 articles']:.3f} "
                     f"| {r['newsarticles_search_ms']['p50']} / {r['newsarticles_search_ms']['p95']} "
                     f"| {r['synthetic_search_ms']['p50']} / {r['synthetic_search_ms']['p95']} | {r['synthetic_build_s']} "
                     f"| {r['one_doc_commit_s'] * 1000:.1f} ms, {r['one_doc_commit_bytes'] / 1e3:.0f} KB |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
