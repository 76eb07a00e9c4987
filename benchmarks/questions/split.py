"""Split the question set into dev and test: whole conversations and whole articles on one side, deterministically.

    python benchmarks/questions/split.py        # writes answers-dev.jsonl and answers-test.jsonl beside this file

Questions are grouped so that no article's questions and no conversation's turns are on both sides (a group joins
every conversation that touches one of its articles); the groups are ordered by a hash of their key and filled into
dev until it holds about 55% of the questions, the rest is test. The same files give the same split.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEV_SHARE = 0.55


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


def split(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    by_group = groups(rows)
    order = sorted(by_group, key=lambda g: hashlib.sha1(g.encode()).hexdigest())
    dev, test = [], []
    for key in order:
        (dev if len(dev) < DEV_SHARE * len(rows) else test).extend(by_group[key])
    original = {id(r): i for i, r in enumerate(rows)}
    return sorted(dev, key=lambda r: original[id(r)]), sorted(test, key=lambda r: original[id(r)])


def main() -> int:
    rows = read(sorted((HERE / "src").glob("*.jsonl")))
    dev, test = split(rows)
    for name, part in (("dev", dev), ("test", test)):
        path = HERE / f"answers-{name}.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for row in part:
                fh.write(json.dumps({k: v for k, v in row.items() if k != "_source"}, ensure_ascii=False) + "\n")
        kinds = Counter(r["kind"] for r in part)
        articles = {r.get("article_id") for r in part if r.get("article_id")}
        print(f"{path.name}: {len(part)} questions, {len(articles)} articles, " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    shared = {r.get("article_id") for r in dev} & {r.get("article_id") for r in test} - {None}
    assert not shared, f"articles on both sides: {sorted(shared)}"
    return 0


if __name__ == "__main__":
    sys.exit(main())
