"""Synthetic training questions from NewsArticles sentences outside the question set: `python benchmarks/synth_questions.py`.

Each question is made from one prose sentence of an article that no dev or test question asks about (nor one whose
title shares most of its words with a test article's): a named entity of the sentence (spaCy) is replaced by the
wh-word of its type (PERSON -> who, DATE -> when, GPE -> where, CARDINAL -> how many, MONEY -> how much...), and the
words around it, some dropped, make the question ("Who won the Berlin marathon on Sunday?"); a keyword variant is
typed casually ("berlin marathon sunday who"). Follow-ups are asked after a first question whose answer was that
article's sentence: another sentence 1-4 away, its names the first question used replaced by a pronoun, or a terse
"why?" when the sentence gives a reason. Near misses (unanswerable) change a year or a number of a question, or
swap in a name from another article. Each line names its source sentence (article id and character span), which
labels the candidates that quote it. The ranker is fitted on these and the dev split (benchmarks/fit_answerer.py).

Writes benchmarks/.cache/synth-questions.jsonl (regenerated deterministically; not committed).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from qa.answerers.entities import shared_tagger  # noqa: E402
from qa.answerers.features import is_prose  # noqa: E402
from qa.chunking import split_sentences  # noqa: E402
from qa.demo import demo_articles  # noqa: E402
from qa.lexical import STOPWORDS  # noqa: E402

WH = {"PERSON": ["Who"], "ORG": ["Which organisation", "Who"], "NORP": ["Who"], "GPE": ["Where", "Which country"],
      "LOC": ["Where"], "FAC": ["Where"], "DATE": ["When", "What year"], "TIME": ["When", "At what time"],
      "CARDINAL": ["How many"], "MONEY": ["How much"], "PERCENT": ["What percentage", "By how much"], "QUANTITY": ["How much"]}
_PREP = re.compile(r"(?:\b(?:in|on|at|by|from|of|to|for|since|about|some|nearly|almost|around|at least|more than|over|until)\s+)+$", re.I)
_REASON = re.compile(r"\b(?:because|since|due to|as a result|in order to|so that|after)\b", re.I)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")
_YEAR = re.compile(r"\b(?:19[5-9]\d|20[0-2]\d)\b")
PRONOUNS = {"PERSON": "he", "ORG": "they", "NORP": "they", "GPE": "there"}


def question_set_articles() -> tuple[set[str], list[set[str]]]:
    """Article ids asked about in dev or test, and the title words of the test articles."""
    ids: set[str] = set()
    for split in ("dev", "test"):
        for line in (ROOT / "questions" / f"answers-{split}.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row.get("article_id"):
                ids.add(str(row["article_id"]))
    return ids, []


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def cloze(sentence: str, ent, rng: random.Random, *, casual: bool, drop: float) -> str:
    """A question asking for `ent` of `sentence`: its wh-word, then the words around it with some dropped."""
    before = _PREP.sub("", sentence[: ent.start]).rstrip(" ,")
    after = sentence[ent.end :]
    left, right = words(before)[-9:], words(after)[:9]
    keep = [w for w in left + right if not (w.lower() not in STOPWORDS and rng.random() < drop) and not (w.lower() in STOPWORDS and rng.random() < drop / 2)]
    wh = rng.choice(WH[ent.label])
    if casual:
        body = " ".join(w.lower() for w in keep if w.lower() not in STOPWORDS)
        return f"{body} {wh.lower()}" if rng.random() < 0.5 else f"{wh.lower()} {body}"
    return f"{wh} {' '.join(keep)}?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=ROOT / ".cache" / "synth-questions.jsonl")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    tagger = shared_tagger()
    asked, _ = question_set_articles()
    articles = [a for a in demo_articles("NewsArticles") if a.id not in asked]
    test_titles = [set(w.lower() for w in words(a.title)) - STOPWORDS for a in demo_articles("NewsArticles") if a.id in asked]
    articles = [a for a in articles if not any(len(t & (ws := set(w.lower() for w in words(a.title)) - STOPWORDS)) > 0.5 * max(1, len(ws)) for t in test_titles)]
    rng.shuffle(articles)
    names_pool: list[str] = []
    lines: list[dict] = []
    for article in articles[: args.articles]:
        text = article.text
        spans = [(a, b) for a, b in split_sentences(text) if is_prose(text[a:b]) and len(words(text[a:b])) >= 8]
        if len(spans) < 4:
            continue
        tagged = []
        for a, b in spans:
            ents = [e for e in tagger.entities(text[a:b]) if e.label in WH and len(e.text) > 1]
            tagged.append(((a, b), ents))
            names_pool += [e.text for e in ents if e.label == "PERSON"]
        usable = [i for i, (_, ents) in enumerate(tagged) if ents]
        if not usable:
            continue
        base = f"synth-{article.id}"
        i = rng.choice(usable)
        (a, b), ents = tagged[i]
        ent = rng.choice(ents)
        sentence = text[a:b]
        first = cloze(sentence, ent, rng, casual=False, drop=0.25)
        lines.append({"id": f"{base}-1", "question": first, "kind": "first", "article_id": article.id, "span": [a, b]})
        j = rng.choice([u for u in usable if u != i] or [i])
        (a2, b2), ents2 = tagged[j]
        lines.append({"id": f"{base}-c", "question": cloze(text[a2:b2], rng.choice(ents2), rng, casual=True, drop=0.45),
                      "kind": "casual", "article_id": article.id, "span": [a2, b2]})
        near = [k for k in range(max(0, i - 4), min(len(tagged), i + 5)) if k != i]
        if near:
            k = rng.choice(near)
            (a3, b3), ents3 = tagged[k]
            follow = ""
            if _REASON.search(text[a3:b3]) and abs(k - i) <= 2 and rng.random() < 0.5:
                follow = rng.choice(["why?", "why", "how come?", "what was the reason?"])
            elif ents3:
                e3 = rng.choice(ents3)
                follow = cloze(text[a3:b3], e3, rng, casual=rng.random() < 0.4, drop=0.5)
                for other in ents:  # names the first question used become pronouns
                    if other.label in PRONOUNS and other.text in follow and other.text != e3.text:
                        follow = follow.replace(other.text, PRONOUNS[other.label], 1)
                follow = follow.replace(ent.text, "it", 1) if ent.text in follow else follow
            if follow:
                lines.append({"id": f"{base}-2", "question": follow, "kind": "followup", "article_id": article.id, "span": [a3, b3],
                              "history": [{"question": first, "answer": sentence, "article_id": article.id, "start": a, "end": b}]})
        if rng.random() < 0.35:  # a near miss: the first question with a year, number or name the article does not have
            miss = ""
            if _YEAR.search(first):
                miss = _YEAR.sub(lambda m: str(int(m.group()) + rng.choice([-3, -2, 2, 3])), first, count=1)
            elif names_pool:
                name = next((e.text for e in ents if e.label == "PERSON" and e.text in first), "")
                other = rng.choice(names_pool)
                if name and other not in text:
                    miss = first.replace(name, other)
                elif ent.label in ("PERSON", "ORG") and other not in text:
                    miss = f"{first[:-1]} according to {other}?"
            if miss and miss != first:
                lines.append({"id": f"{base}-u", "question": miss, "kind": "unanswerable", "article_id": article.id, "answerable": False})
    lines = [line for line in lines if line["question"] in ("why?", "why", "how come?", "what was the reason?")
             or len([w for w in words(line["question"]) if w.lower() not in STOPWORDS]) >= 4]  # "sad how many" asks nothing
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    kinds: dict[str, int] = {}
    for line in lines:
        kinds[line["kind"]] = kinds.get(line["kind"], 0) + 1
    print(f"wrote {len(lines)} questions to {args.out}: {kinds}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
