"""Give each question writer its own slice of NewsArticles, away from every held-out article, and dump the corpus for grep.

    python -m benchmarks.questions.writers.slices      # writes slices.json beside this file and benchmarks/.cache/corpus/

Held out of the training set: the News100 demo articles (what `make run` serves), every article the dev and test
splits ask about, and any article close to one of those (TF-IDF cosine of title + text >= SIMILAR: another report of
the same event). From what is left (HELD_WORDS..MAX_WORDS words, duplicates dropped), articles are grouped by the same
closeness (a group is one event's reports, so an event never sits in two slices), the groups are shuffled with SEED,
and each writer gets PER_WRITER articles (a group that fits no slice is left out). The corpus dump holds one file per NewsArticles article (`news-<n>.txt`:
title, then text) for writers to search when checking that an unanswerable question has no answer anywhere.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]

# Rounds of writers: each round's slices are dealt from the groups the rounds before left, so a later round never
# changes an earlier one's slices and no event sits in two slices.
ROUNDS = (("w1", "w2", "w3", "w4", "w5", "w6", "w7"), ("w8", "w9", "w10", "w11", "w12", "w13"))
WRITERS = tuple(w for r in ROUNDS for w in r)
PER_WRITER = {"w7": 40, "w10": 40}  # w7 and w10 also write new scraped pages; the others get DEFAULT_PER_WRITER
DEFAULT_PER_WRITER = 95
SIMILAR = 0.25
MIN_WORDS, MAX_WORDS = 150, 1200
SEED = 21


def held_out() -> set[str]:
    from qa.reading.demo import demo_rows

    held = {f"news-{r['article_id']}" for r in demo_rows("News100")}
    for name in ("n100", "na", "pages"):  # the evaluation parts: every article the dev and test questions of issue 10 ask about
        for line in (HERE.parent / "src" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            article = json.loads(line).get("article_id")
            if article:
                held.add(article)
    return held


def main() -> int:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from qa.reading.demo import demo_rows

    rows = demo_rows("NewsArticles")
    ids = [f"news-{r['article_id']}" for r in rows]
    texts = [r["title"] + " " + r["text"] for r in rows]
    matrix = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=2, max_df=0.3).fit_transform(texts)
    held = held_out()
    held_rows = [i for i, a in enumerate(ids) if a in held]
    near_held = (matrix @ matrix[held_rows].T).toarray().max(axis=1) >= SIMILAR
    seen: set[str] = set()
    pool = []
    for i, row in enumerate(rows):
        words = len(row["text"].split())
        key = row["text"].strip()[:300]
        if ids[i] in held or near_held[i] or not MIN_WORDS <= words <= MAX_WORDS or key in seen:
            continue
        seen.add(key)
        pool.append(i)
    # groups: connected components of the pool at the same closeness
    sims = (matrix[pool] @ matrix[pool].T).toarray() >= SIMILAR
    parent = list(range(len(pool)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(*np.nonzero(sims)):
        parent[find(int(a))] = find(int(b))
    groups: dict[int, list[int]] = {}
    for n, i in enumerate(pool):
        groups.setdefault(find(n), []).append(i)
    order = list(groups.values())
    random.Random(SEED).shuffle(order)
    slices: dict[str, list[str]] = {w: [] for w in WRITERS}
    for writers in ROUNDS:
        left = []
        for group in order:
            open_writers = [w for w in writers if len(slices[w]) + len(group) <= PER_WRITER.get(w, DEFAULT_PER_WRITER)]
            if not open_writers:  # a chain of many events' reports, or every slice full: left for the next round
                left.append(group)
                continue
            writer = min(open_writers, key=lambda w: len(slices[w]) / PER_WRITER.get(w, DEFAULT_PER_WRITER))
            slices[writer] += [ids[i] for i in group]
        order = left
    out = {"seed": SEED, "similar": SIMILAR, "held_out": len(held), "near_held_out": int(near_held.sum()),
           "pool": len(pool), "slices": slices}
    (HERE / "slices.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    dump = ROOT / "benchmarks" / ".cache" / "corpus"
    dump.mkdir(parents=True, exist_ok=True)
    for id_, row in zip(ids, rows):
        (dump / f"{id_}.txt").write_text(row["title"].strip() + "\n\n" + row["text"].strip() + "\n", encoding="utf-8")
    print(f"held out {len(held)} articles and {int(near_held.sum())} close to them; pool {len(pool)}; "
          + ", ".join(f"{w} {len(v)}" for w, v in slices.items()) + f"; corpus dump in {dump}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
