"""Split the question set into train, dev and test: whole conversations and whole articles on one side, deterministically.

    python -m benchmarks.questions.split    # writes answers-train.jsonl, answers-dev.jsonl and answers-test.jsonl here

Questions are grouped so that no article's questions and no conversation's turns are on two sides (a group joins
every conversation that touches one of its articles), and the groups are ordered by a hash of their key.
- The evaluation parts (`src/n100.jsonl`, `src/na.jsonl`, `src/pages.jsonl`) are split as they always were: groups
  fill dev until it holds about 55% of them, the rest is test. Then every question about a News100 article (what
  `make run` serves, part `n100`) moves to test, so nothing about the demo is fitted on.
- The training parts (`src/w*.jsonl`, written for the reader: writers/BRIEF.md) fill dev with about 15% of their
  questions, by the same group order; the rest is train.
The same files give the same split.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEV_SHARE = 0.55
TRAIN_DEV_SHARE = 0.15
EVALUATION_PARTS = ("n100", "na", "pages")
HELD_OUT_PARTS = ("n100",)  # always test: questions about the demo articles


def read(paths: list[Path]) -> list[dict]:
    rows = []
    for path in paths:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                row = json.loads(line)
                row["_source"] = f"{path.name}:{n}"
                rows.append(row)
    return rows


def groups(rows: list[dict]) -> dict[str, list[dict]]:
    """Union of conversations that share an article: each group is self-contained."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for row in rows:
        conv = "c:" + (row.get("conversation") or row["id"])
        find(conv)
        if row.get("article_id"):
            parent[find(conv)] = find("a:" + str(row["article_id"]))
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(find("c:" + (row.get("conversation") or row["id"])), []).append(row)
    return out


def split(rows: list[dict], share: float = DEV_SHARE) -> tuple[list[dict], list[dict]]:
    """(first, rest): the groups in hash order fill `first` until it holds `share` of the questions."""
    by_group = groups(rows)
    order = sorted(by_group, key=lambda g: hashlib.sha1(g.encode()).hexdigest())
    first, rest = [], []
    for key in order:
        (first if len(first) < share * len(rows) else rest).extend(by_group[key])
    original = {id(r): i for i, r in enumerate(rows)}
    return sorted(first, key=lambda r: original[id(r)]), sorted(rest, key=lambda r: original[id(r)])


def part(row: dict) -> str:
    return row["_source"].split(".jsonl:")[0]


def main() -> int:
    rows = read(sorted((HERE / "src").glob("*.jsonl")))
    evaluation = [r for r in rows if part(r) in EVALUATION_PARTS]
    training = [r for r in rows if part(r) not in EVALUATION_PARTS]
    dev, test = split(evaluation)
    test += [r for r in dev if part(r) in HELD_OUT_PARTS]
    dev = [r for r in dev if part(r) not in HELD_OUT_PARTS]
    extra_dev, train = split(training, TRAIN_DEV_SHARE)
    dev += extra_dev
    for name, part_rows in (("train", train), ("dev", dev), ("test", test)):
        part_rows.sort(key=lambda r: (part(r), int(r["_source"].rsplit(":", 1)[1])))
        path = HERE / f"answers-{name}.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for row in part_rows:
                fh.write(json.dumps({k: v for k, v in row.items() if k != "_source"}, ensure_ascii=False) + "\n")
        kinds = Counter(r["kind"] for r in part_rows)
        articles = {r.get("article_id") for r in part_rows if r.get("article_id")}
        print(f"{path.name}: {len(part_rows)} questions, {len(articles)} articles, " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    sides = {"train": train, "dev": dev, "test": test}
    for a, b in (("train", "dev"), ("train", "test"), ("dev", "test")):
        shared = {r.get("article_id") for r in sides[a]} & {r.get("article_id") for r in sides[b]} - {None}
        assert not shared, f"articles in both {a} and {b}: {sorted(shared)}"
    return 0


if __name__ == "__main__":
    sys.exit(main())
