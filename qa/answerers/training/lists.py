"""Candidate lists for training and calibrating the reader: each question of a question set asked after its gold
conversation, its candidates as the answerer finds them (prefilter scores and features), labelled by the answers."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from qa.evaluation import metrics as m
from qa.answerers.extractive import ExtractiveAnswerer, Scored
from qa.answerers.pairs import PairText
from qa.reading.chunking import split_sentences
from qa.conversation import Turn
from qa.types import Answer

log = logging.getLogger(__name__)

KEEP = 48  # candidates kept per question, the prefilter's best first (positives are always kept)
AMBIGUOUS = -1  # a sentence of another article that holds an accepted phrase: neither right nor wrong


@dataclass
class Row:
    """One candidate of a question: what the reader reads, the prefilter's view, and its label."""

    text: str
    title: str
    before: str
    after: str
    article_id: str
    sentence: int
    prefilter: float  # the prefilter's score
    rank: int  # its rank among the question's allowed candidates by that score (0: best)
    label: int  # 1: holds an accepted answer from the question's article; 0: wrong; AMBIGUOUS
    short: list[tuple[int, int]] = field(default_factory=list)  # the short answer's spans in `text` (positives)
    features: list[float] = field(default_factory=list)  # the prefilter's feature row
    place: str = ""  # where it sits relative to the previous answer (qa.answerers.pairs.PLACES)


@dataclass
class QuestionList:
    """A question, its conversation's last gold turn, and its candidate rows."""

    id: str
    kind: str
    question: str
    previous_question: str
    previous_answer: str
    answerable: bool
    group: str  # questions of one article or conversation: kept in one fold
    candidates: int  # how many allowed candidates the question had (before keeping KEEP)
    ceiling: bool  # whether a right answer was among them
    rows: list[Row] = field(default_factory=list)

    def pair(self, row: Row) -> PairText:
        return PairText(self.question, row.text, row.title, row.before, row.after, self.previous_question, self.previous_answer,
                        row.place)


def read_lines(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """The question lines of the files (the question-set format: benchmarks/questions/README.md)."""
    out = []
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line))
    return out


def gold_turns(lines: Sequence[dict[str, Any]], texts: Any) -> dict[tuple[str, str], Turn]:
    """Each line's turn as the conversation would carry it if answered right: its answer sentence and where it is
    (an unanswerable turn: no answer, its near-miss article as the topic). `texts(article_id)` gives an article text."""
    turns: dict[tuple[str, str], Turn] = {}
    for d in lines:
        key = (d["conversation"], d["question"])
        article = d.get("article_id") or ""
        if not d["answerable"] or not article:
            turns[key] = Turn(d["question"], "", "", article)
            continue
        text = texts(article)
        span = answer_sentence(text, d["answers"])
        turns[key] = Turn(d["question"], text[span[0]:span[1]], "", article, *span) if span else Turn(d["question"])
    return turns


def answer_sentence(text: str, answers: Sequence[str]) -> tuple[int, int] | None:
    """The first sentence of the text that holds one of the answers."""
    for a, b in split_sentences(text):
        if m.contains_answer(text[a:b], answers):
            return a, b
    return None


def collect(answerer: ExtractiveAnswerer, lines: Sequence[dict[str, Any]], *, keep: int = KEEP,
            progress: bool = False) -> Iterator[QuestionList]:
    """Each line's candidate list, asked after its gold conversation."""
    from tqdm import tqdm

    turns = gold_turns(lines, lambda a: answerer.sentences.get(answerer.retriever.resolve(a) or a)[0])
    for d in tqdm(lines, disable=not progress, desc="candidates", unit="question"):
        history = [turns.get((d["conversation"], q), Turn(q)) for q in d["history"]]
        scored = answerer.score(d["question"], history)
        last = history[-1] if history else None
        qlist = QuestionList(d["id"], d["kind"], d["question"], last.question if last else "",
                             last.answer if last else "", bool(d["answerable"]), d.get("article_id") or d["conversation"], 0, False)
        if not isinstance(scored, Answer):
            qlist.rows, qlist.candidates = rows(answerer, scored, d, last, keep)
            qlist.ceiling = any(r.label == 1 for r in qlist.rows)
        yield qlist


def rows(answerer: ExtractiveAnswerer, scored: Scored, d: dict[str, Any], last: Turn | None, keep: int) -> tuple[list[Row], int]:
    allowed = sorted((i for i, ok in enumerate(scored.allowed) if ok), key=lambda i: -scored.scores[i])
    relevant = answerer.retriever.resolve(d.get("article_id") or "") or d.get("article_id") or ""
    out = []
    for rank, i in enumerate(allowed):
        cand, text = scored.candidates[i], scored.texts[i]
        holds = bool(d["answerable"]) and bool(m.contains_answer(text, d["answers"]))
        label = (1 if cand.article_id == relevant else AMBIGUOUS) if holds else 0
        if rank >= keep and label != 1:
            continue
        pair = answerer.pair(scored, i, last)
        short = [(a, a + len(s)) for s in (d.get("short") or []) if label == 1 for a in [text.lower().find(s.lower())] if a >= 0]
        out.append(Row(text, pair.title, pair.before, pair.after, cand.article_id, cand.first, round(float(scored.scores[i]), 5),
                       rank, label, short, [round(float(x), 5) for x in scored.features[i]], pair.place))
    return out, len(allowed)


def cached(answerer: ExtractiveAnswerer, path: Path, work: Path, *, progress: bool = False) -> list[QuestionList]:
    """The question file's candidate lists, kept under `work/lists/` by the file's and the prefilter's content."""
    digest = hashlib.sha1(path.read_bytes() + json.dumps(asdict(answerer.model), default=str).encode()).hexdigest()[:12]
    file = work / "lists" / f"{path.stem}-{digest}.jsonl.gz"
    if not file.exists():
        write(file, collect(answerer, read_lines([path]), progress=progress))
    return read(file)


def write(path: Path, lists: Iterable[QuestionList]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    n = 0
    with gzip.open(tmp, "wt", encoding="utf-8") as fh:
        for qlist in lists:
            fh.write(json.dumps(asdict(qlist), ensure_ascii=False) + "\n")
            n += 1
    tmp.replace(path)
    return n


def read(path: Path) -> list[QuestionList]:
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            d["rows"] = [Row(**{**r, "short": [tuple(s) for s in r["short"]]}) for r in d["rows"]]
            out.append(QuestionList(**d))
    return out


def ceiling(lists: Sequence[QuestionList], within: int | None = None) -> float:
    """Share of answerable questions with a right candidate (within the prefilter's best `within`)."""
    answerable = [q for q in lists if q.answerable]
    hit = sum(1 for q in answerable if any(r.label == 1 and (within is None or r.rank < within) for r in q.rows))
    return hit / max(1, len(answerable))


def labels(qlist: QuestionList) -> np.ndarray:
    return np.array([r.label for r in qlist.rows])
