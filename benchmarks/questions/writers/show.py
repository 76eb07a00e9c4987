"""Print an article as the product reads it, for a question writer: title, date, then its sentences numbered.

    python -m benchmarks.questions.writers.show news-2239 [news-878 ...]
    python -m benchmarks.questions.writers.show page-harbour-strike      # a page under pages/ or train-pages/

The sentences are cut by the product's own splitter (`qa.reading.chunking.split_sentences`), so an `answers` phrase copied
from one numbered line lies inside one sentence, as `check.py` requires.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    from benchmarks.questions.check import load_texts  # the same texts check.py checks against

    from qa.reading.chunking import split_sentences
    from qa.reading.demo import demo_rows

    texts = load_texts()
    titles = {f"news-{r['article_id']}": (r["title"].strip(), r["publish_date"]) for r in demo_rows("NewsArticles")}
    for article_id in argv:
        if article_id not in texts:
            print(f"{article_id}: no such article (news-<n> or page-<stem>)", file=sys.stderr)
            return 1
        text = texts[article_id]
        title, date = titles.get(article_id, ("(page: title is in its text)", ""))
        print(f"=== {article_id} | {title} | {date}")
        for n, (a, b) in enumerate(split_sentences(text)):
            print(f"[{n}] {text[a:b]}")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
