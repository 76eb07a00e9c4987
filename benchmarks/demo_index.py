"""The index `app.py --demo CORPUS` builds, made from another index's stored vectors where it holds the same articles.

Every demo article whose stored copy in `--source` has the same content hash (so the same chunks and vectors
under the same model and chunking) is copied with its chunks and vectors; the others are encoded. With
`--sentence-cache` the source's sentence cache (keyed by sentence text, never stale) is copied too, so the app
starts warm (warming NewsArticles takes tens of minutes here); it also holds the source's other sentences, so
use it only when the source is little more than the corpus. Used by the load benchmark on these 2 shared cores:
encoding NewsArticles again takes 5-30 minutes here.

    python -m benchmarks.demo_index --corpus NewsArticles --source DIR --out benchmarks/.cache/newsarticles-app [--sentence-cache]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from benchmarks.common import copy_stored  # noqa: E402
from qa.ingest import ingest, write_settings  # noqa: E402
from qa.reading.demo import CORPORA, demo_articles  # noqa: E402
from qa.stores import open_index  # noqa: E402


def build(corpus: str, source: Path, out: Path, *, sentence_cache: bool = False, batch: int = 64) -> dict[str, int]:
    """Copy what `source` holds of the corpus into a new index at `out`, encode the rest; returns the counts."""
    wanted = demo_articles(corpus)
    reader = open_index(source).reader()
    manifest = reader.manifest
    stored = {a.id: a for a in reader.articles()}
    same = [a for a in wanted if a.id in stored and stored[a.id].content_hash == a.content_hash]
    copied = {a.id for a in same}
    rest = [a for a in wanted if a.id not in copied]
    if out.exists():
        sys.exit(f"{out} exists; remove it first")
    with open_index(out).writer(manifest) as writer:
        copy_stored(reader, writer, same, batch)
    if rest:
        from qa.encoders import load_encoder

        encoder = load_encoder(manifest.model, manifest.backend)
        write_settings(open_index(out), encoder, None)  # the copied index's model and chunking, checked
        ingest(rest, out, encoder=encoder)
    cache = Path(source) / "sentence-cache"
    if sentence_cache and cache.is_dir():
        shutil.copytree(cache, out / "sentence-cache", dirs_exist_ok=True)
    reader.close()
    return {"articles": len(wanted), "copied": len(same), "encoded": len(rest)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=sorted(CORPORA), required=True)
    parser.add_argument("--source", type=Path, required=True, help="a local index holding (some of) the corpus's articles")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sentence-cache", action="store_true", help="copy the source's sentence cache too")
    args = parser.parse_args()
    started = time.perf_counter()
    counts = build(args.corpus, args.source, args.out, sentence_cache=args.sentence_cache)
    print(f"{args.out}: {counts} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
