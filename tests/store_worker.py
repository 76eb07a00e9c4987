"""Subprocess roles for the multi-process store tests: `python tests/store_worker.py ROLE INDEX [ARGS]`.

    hold INDEX PLAN GO     open a writer, apply PLAN's first write, say "holding", commit once GO exists
    writes INDEX PLAN      apply each write of PLAN (a JSON list of writes) as its own commit, then merge
    watch INDEX WORD       say "ready", then search WORD until it is found: say "seen <seconds>"
    pin INDEX WORD GO      open a reader, say "ready"; once GO exists search WORD on that same snapshot,
                           then refresh and search again: print both results as JSON
    lock-readers INDEX GO  hold the readers' lock (a reader between reading the catalog and opening files)

A write is {"put": [article dicts], "remove": [ids]}. Vectors come from the fake encoder.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fakes import FakeEncoder, register  # noqa: E402

from qa.stores import Manifest, open_index  # noqa: E402
from qa.stores.local import merging, writer  # noqa: E402
from qa.stores.local.locks import readers_shared  # noqa: E402
from qa.types import Article, Chunk  # noqa: E402

ENCODER = FakeEncoder()
MANIFEST = Manifest(ENCODER.name, ENCODER.dimension, {"max_tokens": 128, "overlap_tokens": 16}, backend=ENCODER.backend)


def say(text: str) -> None:
    print(text, flush=True)


def chunks_of(article: Article) -> list[Chunk]:
    out, start = [], 0
    for i, sentence in enumerate(s for s in article.text.split(". ") if s):
        at = article.text.index(sentence, start)
        out.append(Chunk(article.id, i, at, at + len(sentence), sentence))
        start = at + len(sentence)
    return out


def apply(w, step: dict) -> None:
    for data in step.get("put", []):
        article = Article(**data)
        chunks = chunks_of(article)
        w.put(article, chunks, ENCODER.encode([f"{article.title}\n{c.text}" for c in chunks]))
    for article_id in step.get("remove", []):
        w.remove(article_id)


def wait_for(path: Path) -> None:
    while not path.exists():
        time.sleep(0.01)


def main(role: str, index_dir: str, *args: str) -> None:
    register()
    index = open_index(index_dir)
    if role == "hold":
        plan, go = json.loads(Path(args[0]).read_text()), Path(args[1])
        with index.writer() as w:
            apply(w, plan[0])
            say("holding")
            wait_for(go)
        say("committed")
    elif role == "writes":
        writer.FLUSH_CHUNKS = 2  # several segment files per write: more moments to be killed at
        merging.MERGE_FACTOR, merging.FLOOR = 3, 1  # and merges after most writes
        say("ready")
        for n, step in enumerate(json.loads(Path(args[0]).read_text())):
            with index.writer(MANIFEST) as w:
                apply(w, step)
            say(f"committed {n}")
            index.maintain()
        say("done")
    elif role == "watch":
        from qa.retrieval import Retriever

        retriever = Retriever.load(index_dir)
        say("ready")
        start = time.monotonic()
        while not any(args[0] in h.text for h in retriever.search(args[0], 3, mode="bm25")):
            time.sleep(0.02)
            if time.monotonic() - start > 30:
                say("timeout")
                return
        say(f"seen {time.monotonic() - start:.3f}")
    elif role == "pin":
        reader = index.reader()
        say("ready")
        wait_for(Path(args[1]))
        before = [reader.chunks([c])[c].chunk.article_id for c, _ in reader.search_keywords(args[0], 5)]
        fresh = reader.reopen() or reader
        after = [fresh.chunks([c])[c].chunk.article_id for c, _ in fresh.search_keywords(args[0], 5)]
        say(json.dumps({"before": before, "after": after, "segments": [reader.stats()["segments"], fresh.stats()["segments"]]}))
    elif role == "lock-readers":
        with readers_shared(index.root):
            say("ready")
            wait_for(Path(args[0]))
    else:
        raise SystemExit(f"unknown role {role!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
