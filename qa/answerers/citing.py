"""Citations of a quoted answer: the excerpt around the answer (its span marked, a close runner-up marked lighter)
and the other passages that bear on it."""

from __future__ import annotations

from typing import Protocol

from qa.answerers.candidates import Candidate
from qa.answerers.features import is_prose
from qa.answerers.sentence_cache import ArticleSentences
from qa.types import Citation, Hit


class CitingSettings(Protocol):
    context_sentences: int
    max_citations: int
    min_support: float


def citations(
    sentences: ArticleSentences, hits: list[Hit], answer: Candidate | None, best_per_hit: dict[int, tuple[float, Candidate]],
    settings: CitingSettings, *, mark: bool = True, runner_up: Candidate | None = None,
) -> list[Citation]:
    """The answer's excerpt first (its span marked), then other passages that bear on it, each around its best
    sentence. An abstention (`mark=False`) cites the nearest passages whatever their scores, they show what was
    found, its best guess's excerpt first, unmarked. A `runner_up` is marked (lighter) in the answer's excerpt when
    it lies there, else in an excerpt of its own, second."""
    out: list[Citation] = []
    cited: dict[str, list[Candidate]] = {}
    if answer is not None:
        out.append(excerpt(sentences, hits[answer.hit_rank], answer, settings, mark=mark, runner_up=runner_up))
        cited[answer.article_id] = [answer]
        shown = out[0].runner_up_end > out[0].runner_up_start
        if runner_up is not None and not shown:
            out.append(excerpt(sentences, hits[runner_up.hit_rank], runner_up, settings, mark=False, runner_up=runner_up))
            cited.setdefault(runner_up.article_id, []).append(runner_up)
    for rank, hit in enumerate(hits):
        if len(out) >= settings.max_citations:
            break
        if rank not in best_per_hit or (mark and answer is not None and best_per_hit[rank][0] < settings.min_support):
            continue
        cand = best_per_hit[rank][1]
        if any(c.first <= cand.last + settings.context_sentences and cand.first <= c.last + settings.context_sentences
               for c in cited.get(cand.article_id, [])):
            continue  # the same sentences again (a follow-up's second search of the article)
        cited.setdefault(cand.article_id, []).append(cand)
        out.append(excerpt(sentences, hit, cand, settings, mark=False))
    return out


def excerpt(
    sentences: ArticleSentences, hit: Hit, cand: Candidate, settings: CitingSettings, *, mark: bool,
    runner_up: Candidate | None = None,
) -> Citation:
    """An excerpt of the passage: the sentence(s) with some context; `score` is the passage's."""
    text, spans = sentences.get(cand.article_id)
    first, last = cand.first, cand.last
    low, high = min(hit.start, spans[first][0]), max(hit.end, spans[last][1])
    if runner_up is not None and runner_up.article_id == cand.article_id and abs(runner_up.first - cand.first) <= 1 + settings.context_sentences:
        first, last = min(first, runner_up.first), max(last, runner_up.last)  # a close second beside the answer is in view
        low, high = min(low, spans[first][0]), max(high, spans[last][1])
    for _ in range(settings.context_sentences):
        if first > 0 and is_prose(text[slice(*spans[first - 1])]) and spans[first - 1][0] >= low:
            first -= 1
        if last + 1 < len(spans) and is_prose(text[slice(*spans[last + 1])]) and spans[last + 1][1] <= high:
            last += 1
    start, end = spans[first][0], spans[last][1]
    a, b = (cand.start - start, cand.end - start) if mark else (0, 0)
    second = (0, 0)
    if runner_up is not None and runner_up.article_id == cand.article_id and start <= runner_up.start and runner_up.end <= end:
        second = (runner_up.start - start, runner_up.end - start)
    return Citation(**hit.ref_fields(), excerpt=text[start:end], excerpt_start=start, answer_start=a, answer_end=b,
                    score=round(hit.score, 4), runner_up_start=second[0], runner_up_end=second[1])
