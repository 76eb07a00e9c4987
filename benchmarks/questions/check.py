"""Check the answer-quality question set: format, verbatim answers, conversations; print counts by kind.

Usage: python -m benchmarks.questions.check [FILE.jsonl ...]   (default: every benchmarks/questions/src/*.jsonl)

Every `answers` and `short` phrase must occur verbatim (case-insensitively) in the text of its article: a
NewsArticles article (`news-<n>`, from the demo corpus) or a scraped page (`page-<stem>`, the file
benchmarks/questions/pages/<stem>.txt as cleaned by `qa.reading.sources.read_sources`). A `short` phrase must sit in the
answer sentence: a sentence (or two adjacent ones) of the article that holds one of the `answers`. Each turn of a
conversation must carry the questions of the turns before it as its `history`. Exits 1 when any problem is found.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
KINDS = ("first", "followup", "casual", "unanswerable")
CORPORA = ("NewsArticles", "pages")
FIELDS = ("id", "question", "kind", "history", "conversation", "answers", "short", "answerable", "corpus")
MAX_ANSWERS, MIN_WORDS, MAX_WORDS = 3, 2, 8
MIN_TURNS, MAX_TURNS = 2, 4


@dataclass
class Line:
    """One question line, where it came from, and its parsed fields."""

    path: Path
    number: int
    data: dict

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.number}"

    @property
    def id(self) -> str:
        return str(self.data.get("id", "?"))


@dataclass
class Report:
    """Problems (which fail the check) and notes (printed for a human to judge)."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def problem(self, line: Line | None, message: str) -> None:
        self.problems.append(f"{line.where} [{line.id}]: {message}" if line else message)

    def note(self, line: Line, message: str) -> None:
        self.notes.append(f"{line.where} [{line.id}]: {message}")


def load_texts() -> dict[str, str]:
    """Article id -> text for NewsArticles and every page under benchmarks/questions/pages/ and train-pages/."""
    from qa.reading.demo import demo_articles
    from qa.reading.sources import Failure, read_sources

    texts = {a.id: a.text for a in demo_articles("NewsArticles")}
    for path in sorted(HERE.glob("pages/*.txt")) + sorted(HERE.glob("train-pages/*.txt")):
        items = list(read_sources([str(path)]))
        articles = [item for item in items if not isinstance(item, Failure)]
        if len(articles) != 1:
            reasons = "; ".join(str(item) for item in items if isinstance(item, Failure)) or f"{len(articles)} articles"
            raise SystemExit(f"{path}: cannot read as one page ({reasons})")
        texts[f"page-{path.stem}"] = articles[0].text
    return texts


@functools.lru_cache(maxsize=None)
def sentence_windows(text: str) -> list[tuple[int, int]]:
    """Spans of every sentence and of every pair of adjacent sentences, using the product's own splitter."""
    from qa.reading.chunking import split_sentences

    spans = split_sentences(text)
    pairs = [(a[0], b[1]) for a, b in zip(spans, spans[1:])]
    return spans + pairs


def read_lines(paths: list[Path], report: Report) -> list[Line]:
    lines = []
    for path in paths:
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not raw.strip():
                report.problems.append(f"{path.name}:{number}: blank line")
                continue
            try:
                data = json.loads(raw)
            except json.JSONDecodeError as exc:
                report.problems.append(f"{path.name}:{number}: not JSON ({exc})")
                continue
            if not isinstance(data, dict):
                report.problems.append(f"{path.name}:{number}: not a JSON object")
                continue
            lines.append(Line(path, number, data))
    return lines


def is_phrase_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


def check_fields(line: Line, report: Report) -> bool:
    """Types and allowed values of the fields; False when the line is too broken to check further."""
    d = line.data
    missing = [f for f in FIELDS if f not in d]
    if missing:
        report.problem(line, f"missing fields: {', '.join(missing)}")
        return False
    unknown = sorted(set(d) - set(FIELDS) - {"article_id"})
    if unknown:
        report.problem(line, f"unknown fields: {', '.join(unknown)}")
    ok = True
    if not isinstance(d["id"], str) or not d["id"].strip():
        report.problem(line, "id must be a non-empty string")
        ok = False
    if not isinstance(d["question"], str) or not d["question"].strip():
        report.problem(line, "question must be a non-empty string")
        ok = False
    if d["kind"] not in KINDS:
        report.problem(line, f"kind {d['kind']!r} is not one of {', '.join(KINDS)}")
        ok = False
    if not isinstance(d["history"], list) or not all(isinstance(h, str) and h.strip() for h in d["history"]):
        report.problem(line, "history must be a list of non-empty strings")
        ok = False
    if not isinstance(d["conversation"], str) or not d["conversation"].strip():
        report.problem(line, "conversation must be a non-empty string")
        ok = False
    for name in ("answers", "short"):
        if not is_phrase_list(d[name]):
            report.problem(line, f"{name} must be a list of non-empty strings")
            ok = False
    if not isinstance(d["answerable"], bool):
        report.problem(line, "answerable must be true or false")
        ok = False
    if d["corpus"] not in CORPORA:
        report.problem(line, f"corpus {d['corpus']!r} is not one of {', '.join(CORPORA)}")
        ok = False
    if "article_id" in d and (not isinstance(d["article_id"], str) or not d["article_id"].strip()):
        report.problem(line, "article_id, when given, must be a non-empty string")
        ok = False
    return ok


def check_meaning(line: Line, texts: dict[str, str], report: Report) -> None:
    """Kind against answerable/history, the article, and every answer and short phrase against its text."""
    d = line.data
    kind, answerable, article = d["kind"], d["answerable"], d.get("article_id")
    if answerable != (kind != "unanswerable"):
        report.problem(line, f"answerable must be {str(kind != 'unanswerable').lower()} for kind {kind}")
    if kind == "followup" and not d["history"]:
        report.problem(line, "a followup needs a non-empty history")
    if kind in ("first", "casual") and d["history"]:
        report.problem(line, f"a {kind} question is standalone: its history must be []")
    if article is not None:
        prefix = "news-" if d["corpus"] == "NewsArticles" else "page-"
        if not article.startswith(prefix):
            report.problem(line, f"article_id {article!r} does not belong to corpus {d['corpus']} ({prefix}...)")
        elif article not in texts:
            report.problem(line, f"article_id {article!r} not found in {d['corpus']}")
            return
    if kind == "unanswerable":
        if d["answers"] or d["short"]:
            report.problem(line, "an unanswerable question has answers [] and short []")
        return
    if article is None:
        report.problem(line, "an answerable question needs an article_id")
        return
    text = texts[article]
    lowered = text.lower()
    if not 1 <= len(d["answers"]) <= MAX_ANSWERS:
        report.problem(line, f"answers must hold 1-{MAX_ANSWERS} phrases, has {len(d['answers'])}")
    found = []
    for phrase in d["answers"]:
        words = len(phrase.split())
        if not MIN_WORDS <= words <= MAX_WORDS:
            report.problem(line, f"answer {phrase!r} has {words} words (want {MIN_WORDS}-{MAX_WORDS})")
        start = lowered.find(phrase.lower())
        if start < 0:
            report.problem(line, f"answer {phrase!r} not found verbatim in {article}")
            continue
        while start >= 0:
            found.append((start, start + len(phrase)))
            start = lowered.find(phrase.lower(), start + 1)
    if not found:
        return
    windows = [w for w in sentence_windows(text) if any(w[0] <= s and e <= w[1] for s, e in found)]
    if not windows:
        report.problem(line, "no answer phrase lies inside one sentence (or two adjacent ones) of the article")
    for phrase in d["short"]:
        if phrase.lower() not in lowered:
            report.problem(line, f"short {phrase!r} not found verbatim in {article}")
        elif not any(phrase.lower() in lowered[a:b] for a, b in windows):
            report.problem(line, f"short {phrase!r} is not in a sentence that holds one of the answers")


def check_conversations(lines: list[Line], report: Report) -> None:
    """Each conversation: 2-4 turns, first turn standalone, history = the earlier questions in order."""
    by_conversation: dict[str, list[Line]] = defaultdict(list)
    for line in lines:
        by_conversation[line.data["conversation"]].append(line)
    for conversation, turns in by_conversation.items():
        if len(turns) == 1:
            line = turns[0]
            if line.data["history"]:
                report.problem(line, f"conversation {conversation!r} has only this line but its history is not []")
            elif conversation != line.id:
                report.note(line, f"a standalone question usually has conversation = its id ({line.id!r})")
            continue
        if not MIN_TURNS <= len(turns) <= MAX_TURNS:
            report.problem(turns[0], f"conversation {conversation!r} has {len(turns)} turns (want {MIN_TURNS}-{MAX_TURNS})")
        if turns[0].data["kind"] not in ("first", "casual"):
            report.problem(turns[0], f"the first turn of {conversation!r} must be kind first or casual")
        asked: list[str] = []
        for line in turns:
            if line.data["history"] != asked:
                report.problem(line, f"history does not match the earlier turns of {conversation!r}: want {asked}")
            asked.append(line.data["question"])
        articles = {line.data.get("article_id") for line in turns if line.data["answerable"]}
        if len(articles) > 1:
            report.note(turns[0], f"conversation {conversation!r} spans several articles: {sorted(articles)}")


def check_duplicates(lines: list[Line], report: Report) -> None:
    seen: dict[str, Line] = {}
    asked: dict[tuple, Line] = {}
    for line in lines:
        if line.id in seen:
            report.problem(line, f"duplicate id (also at {seen[line.id].where})")
        seen.setdefault(line.id, line)
        question, history = line.data.get("question"), line.data.get("history")
        if not isinstance(question, str) or not isinstance(history, list):
            continue
        key = (question.strip().lower(), tuple(map(str, history)))
        if key in asked:
            report.problem(line, f"same question and history as {asked[key].where}")
        asked.setdefault(key, line)


def note_ambiguous_firsts(lines: list[Line], texts: dict[str, str], report: Report) -> None:
    """First questions should pin one article: note answers that other articles also hold."""
    news = {k: v.lower() for k, v in texts.items()}
    for line in lines:
        d = line.data
        if d["kind"] != "first" or not d["answers"]:
            continue
        others = {k for k, v in news.items() if k != d.get("article_id") and any(p.lower() in v for p in d["answers"])}
        if others:
            shown = ", ".join(sorted(others)[:5]) + (" ..." if len(others) > 5 else "")
            report.note(line, f"an answer phrase also occurs in {len(others)} other article(s): {shown}")


def summarise(lines: list[Line]) -> None:
    by_part: dict[str, list[Line]] = defaultdict(list)
    for line in lines:
        by_part[line.path.stem].append(line)
    header = f"{'part':<12}" + "".join(f"{k:>14}" for k in KINDS) + f"{'total':>8}{'short':>8}{'convs':>7}{'articles':>10}"
    print(header)
    for part, group in sorted(by_part.items()) + ([("ALL", lines)] if len(by_part) > 1 else []):
        kinds = Counter(line.data.get("kind") for line in group)
        shorts = sum(1 for line in group if line.data.get("short"))
        convs = Counter(line.data.get("conversation") for line in group)
        multi = sum(1 for n in convs.values() if n > 1)
        articles = {line.data.get("article_id") for line in group if line.data.get("article_id")}
        print(
            f"{part:<12}" + "".join(f"{kinds.get(k, 0):>14}" for k in KINDS)
            + f"{len(group):>8}{shorts:>8}{multi:>7}{len(articles):>10}"
        )
    unanswerable = [line for line in lines if line.data.get("kind") == "unanswerable"]
    near = sum(1 for line in unanswerable if line.data.get("article_id"))
    in_conv = sum(1 for line in unanswerable if line.data.get("history"))
    print(f"unanswerable: {near} near misses (with article_id), {len(unanswerable) - near} out of corpus, {in_conv} inside conversations")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="question files (default: benchmarks/questions/src/*.jsonl)")
    parser.add_argument("--quiet-notes", action="store_true", help="do not print notes, only problems")
    args = parser.parse_args(argv)
    paths = args.files or sorted((HERE / "src").glob("*.jsonl"))
    if not paths:
        print(f"no question files under {HERE / 'src'}", file=sys.stderr)
        return 1
    for path in paths:
        if not path.is_file():
            print(f"{path}: no such file", file=sys.stderr)
            return 1
    report = Report()
    lines = read_lines(paths, report)
    texts = load_texts()
    good = [line for line in lines if check_fields(line, report)]
    for line in good:
        check_meaning(line, texts, report)
    check_duplicates(lines, report)
    check_conversations(good, report)
    note_ambiguous_firsts(good, texts, report)
    summarise(good)
    if report.notes and not args.quiet_notes:
        print(f"\n{len(report.notes)} note(s), for a human to judge:")
        for note in report.notes:
            print(f"  {note}")
    if report.problems:
        print(f"\n{len(report.problems)} problem(s):")
        for problem in report.problems:
            print(f"  {problem}")
        return 1
    print("\nno problems")
    return 0


if __name__ == "__main__":
    sys.exit(main())
