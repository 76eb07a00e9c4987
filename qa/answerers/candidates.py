"""Answer candidates (sentences and adjacent pairs of the retrieved passages) and their feature vectors."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from qa.answerers.features import (
    answer_type_match,
    bigram_overlap,
    casual,
    counted_number,
    content_terms,
    coverage,
    cues,
    idf_coverage,
    is_prose,
    missing_names,
    missing_numbers,
    short_kind,
    name_overlap,
    question_names,
    question_type,
    say_question,
    wanted_terms,
)
from qa.answerers.entities import pattern_entities
from qa.answerers.followups import Context
from qa.answerers.sentence_cache import ArticleSentences
from qa.types import Hit

# The features the scoring model reads, in order (qa/answerers/scoring.py; README "How an answer is chosen").
FEATURES: tuple[str, ...] = (
    "cos_query", "cos_question", "cos_gap", "coverage", "coverage_own", "coverage_gap", "unmatched_terms",
    "hit_rank", "hit_score", "top_article", "position", "lead", "words", "pair",
    "typed", "type_match", "type_missing", "reason_question", "reason_cue", "say_question", "say_cue",
    "condition_cue", "condition_for_reason", "name_overlap", "missing_names", "unmet_numbers",
    "followup", "same_article", "distance", "is_previous", "neighbour", "question_terms", "casual",
    "in_passage", "explicit_followup", "article_rank", "counted_number", "bigrams", "idf_coverage", "idf_gap",
    # token-level alignment (MaxSim of the query's and the question's tokens to the sentence's) and its gap to the best
    "maxsim_query", "maxsim_question", "maxsim_query_gap", "maxsim_question_gap",
    # an entity of the kind asked for (who -> a name, how many -> a number...) that the conversation has not named;
    # a year the question names, present in the sentence or contradicted by another year
    "entity_new", "entity_missing", "year_match", "year_conflict",
)
# The features that depend on the retrieval's ranks and scores, and so on how many articles the index holds.
RETRIEVAL_FEATURES: tuple[str, ...] = ("hit_rank", "hit_score", "top_article", "in_passage", "article_rank")
ALIGNMENT = slice(FEATURES.index("maxsim_query"), FEATURES.index("maxsim_question_gap") + 1)
MAX_DISTANCE = 6  # sentences from the previous answer; farther counts as unrelated


@dataclass(frozen=True)
class Candidate:
    """One answer candidate: a run of sentences of one article, found in a retrieved passage (or beside the
    previous answer, for a follow-up)."""

    hit_rank: int
    article_id: str
    first: int  # index of its first sentence in the article's sentence list
    last: int
    start: int  # character span in the article text
    end: int
    neighbour: bool = False  # beside the previous answer (a follow-up's favoured neighbourhood)
    in_passage: bool = True  # inside a retrieved passage (else: elsewhere in one of the best articles)
    article_rank: int = 0  # rank of its article among the distinct articles retrieved


def generate(
    hits: list[Hit], sentences: ArticleSentences, ctx: Context, *, articles: int, neighbourhood: int, pairs: bool = False
) -> list[Candidate]:
    """Single sentences (and with `pairs`, adjacent pairs; clutter left out) inside each retrieved passage, and
    anywhere in the `articles` best articles (a passage may stop just before the answer); for a follow-up, the
    previous answer's article too, whose sentences around that answer (where a claim's reason or reaction sits)
    are marked."""
    out: list[Candidate] = []
    order: list[str] = []
    first_rank: dict[str, int] = {}
    for rank, hit in enumerate(hits):
        if hit.article_id not in first_rank:
            first_rank[hit.article_id] = rank
            order.append(hit.article_id)
    whole = set(order[:articles]) | ({ctx.article_id} if ctx.followup and ctx.article_id in first_rank else set())
    for article_rank, article_id in enumerate(order):
        text, spans = sentences.get(article_id)
        passages = [(h.start, h.end) for h in hits if h.article_id == article_id]
        inside = {i for i, (s, e) in enumerate(spans) if any(a <= s and e <= b for a, b in passages)}
        chosen = [i for i in range(len(spans)) if (article_id in whole or i in inside) and is_prose(text[slice(*spans[i])])]
        near = set(range(ctx.sentence - neighbourhood, ctx.sentence + neighbourhood + 1)) if article_id == ctx.article_id and ctx.sentence >= 0 else set()
        keep = set(chosen)
        for i in chosen:
            for last in (i, i + 1) if pairs else (i,):
                if last in keep:
                    out.append(Candidate(first_rank[article_id], article_id, i, last, spans[i][0], spans[last][1],
                                         i in near and last in near, i in inside and last in inside, article_rank))
    return out


def shortlist(candidates: list[Candidate], texts: dict[Candidate, str], ctx: Context, limit: int) -> list[Candidate]:
    """The candidates whose sentences are among the `limit` best by a cheap score (each new sentence costs an
    encoding on a cold cache): word overlap with the question, inside a retrieved passage, the answer type,
    the article's rank; the previous answer's neighbourhood always stays."""
    wanted = wanted_terms(ctx.resolved, ctx.query)
    own = dict.fromkeys(content_terms(ctx.resolved), 1.0)
    singles = [c for c in candidates if c.first == c.last and not c.neighbour]
    if len(singles) <= limit:
        return candidates

    def cheap(c: Candidate) -> float:
        terms = content_terms(texts[c])
        return (coverage(wanted, terms) + 0.5 * coverage(own, terms) + 0.25 * c.in_passage
                + 0.15 * answer_type_match(ctx.resolved, texts[c]) - 0.05 * c.article_rank)

    ranked = sorted(singles, key=lambda c: (-cheap(c), c.hit_rank, c.first))
    keep = {(c.article_id, c.first) for c in ranked[:limit]} | {(c.article_id, c.first) for c in candidates if c.neighbour}
    return [c for c in candidates if all((c.article_id, i) in keep for i in range(c.first, c.last + 1))]


def each_part_adds(parts: list[str], question: str, wanted: dict[str, float]) -> bool:
    """Whether every sentence of a pair brings a question word, or the kind of answer asked for, that the
    other lacks; a quote riding beside the answer ("..." Zelensky said. Trump posted...) brings neither."""
    terms = [content_terms(p) & wanted.keys() for p in parts]
    typed = [answer_type_match(question, p) > 0 for p in parts]
    for i in range(len(parts)):
        others = set().union(*(t for j, t in enumerate(terms) if j != i))
        if not (terms[i] - others) and not (typed[i] and not any(t for j, t in enumerate(typed) if j != i)):
            return False
    return True


def feature_matrix(
    ctx: Context,
    candidates: list[Candidate],
    texts: dict[Candidate, str],
    hits: list[Hit],
    sentences: ArticleSentences,
    cos_query: np.ndarray,
    cos_question: np.ndarray,
    alignment: np.ndarray | None = None,
) -> np.ndarray:
    """One row of FEATURES per candidate (cosines and the MaxSim alignment of the query and the question,
    `alignment[:, 0:2]`, computed by the caller, one per candidate; without alignment the cosines stand in)."""
    question = ctx.resolved
    wanted = wanted_terms(question, ctx.query)
    own = dict.fromkeys(content_terms(question), 1.0)
    kind = question_type(question)
    why, say = kind == "reason", say_question(question)
    previous = (ctx.article_id, ctx.sentence)
    covs, idfs = [], []
    rows = []
    pool = {texts[c]: content_terms(texts[c]) for c in candidates if c.first == c.last}
    df: dict[str, int] = {}
    for terms in pool.values():
        for t in terms & own.keys():
            df[t] = df.get(t, 0) + 1
    numeric = kind == "number"
    from qa.answerers.short import LABELS

    labels = LABELS.get(short_kind(question) or ctx.kind, ())
    asked = content_terms(question + " " + ctx.known)
    years = set(_YEAR.findall(question))
    article_cache: dict[str, tuple[str, int, int, set[str]]] = {}
    for c in candidates:
        if c.article_id not in article_cache:
            text, spans = sentences.get(c.article_id)
            title, published = hits[c.hit_rank].title, hits[c.hit_rank].published
            names = question_names(question, text)
            lead = next((i for i, (s, e) in enumerate(spans) if is_prose(text[s:e])), 0)
            article_cache[c.article_id] = (title, missing_numbers(question, text, published), lead,
                                           names, missing_names(names, text, title))  # type: ignore[assignment]
        title, unmet, lead, names, absent = article_cache[c.article_id]  # type: ignore[misc]
        text = texts[c]
        terms = content_terms(text)
        cov = coverage(wanted, terms, content_terms(title))
        covs.append(cov)
        idf = idf_coverage(set(own), terms, df, len(pool))
        idfs.append(idf)
        reason, said, condition = cues(text)
        typed = 1.0 if kind else 0.0
        match = answer_type_match(question, text)
        same = 1.0 if ctx.followup and c.article_id == previous[0] else 0.0
        distance = min(abs(c.first - previous[1]), abs(c.last - previous[1]), MAX_DISTANCE) / MAX_DISTANCE if same and previous[1] >= 0 else 1.0
        hit_score, rank = hits[c.hit_rank].score, c.hit_rank
        rows.append([
            0.0, 0.0, 0.0,  # cosines, filled below
            cov, coverage(own, terms), 0.0, float(sum(1 for t in own if t not in terms)) / max(1, len(own)),
            rank / 10.0, hit_score, 1.0 if hits and c.article_id == hits[0].article_id else 0.0,
            math.log1p(c.first) / 4.0, 1.0 if c.first == lead else 0.0, math.log(max(1, len(text.split()))) / 4.0,
            float(c.last > c.first),
            typed, match * typed, typed * (1.0 - match), float(why), reason * why, float(say), said * say,
            condition, condition * why, name_overlap(names, text), float(absent), float(unmet),
            float(ctx.followup), same, distance, float(bool(same) and previous[1] >= 0 and c.first <= previous[1] <= c.last),
            float(c.neighbour), math.log1p(len(own)) / 2.0, float(casual(ctx.question)),
            float(c.in_passage), float(ctx.explicit), min(c.article_rank, 5) / 5.0,
            counted_number(question, text) if numeric else 0.0, bigram_overlap(question, text), idf, 0.0,
            0.0, 0.0, 0.0, 0.0, *answer_entities(labels, asked, years, text),
        ])
    matrix = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(FEATURES))
    if len(rows):
        matrix[:, 0] = cos_query
        matrix[:, 1] = cos_question
        matrix[:, 2] = cos_query - cos_query.max()
        matrix[:, 5] = np.asarray(covs) - max(covs)
        matrix[:, FEATURES.index("idf_gap")] = np.asarray(idfs) - max(idfs)
        pair = alignment if alignment is not None else np.c_[cos_query, cos_question]
        matrix[:, ALIGNMENT] = np.c_[pair, pair - pair.max(axis=0)]
    return matrix


_YEAR = re.compile(r"\b(?:1[89]\d\d|20\d\d)\b")


def answer_entities(labels: tuple[str, ...], asked: set[str], years: set[str], text: str) -> tuple[float, float, float, float]:
    """(entity_new, entity_missing, year_match, year_conflict) of a sentence: whether it names an entity of the
    kind the question asks for (by `labels`; found by patterns, fast enough for every candidate) that the
    conversation's words (`asked`) do not already name; and, when the question names years, whether the
    sentence has one of them, or only other years (a near miss: asked about 2016, the sentence says 2013)."""
    new = any(e.label in labels and not (content_terms(e.text) & asked) for e in pattern_entities(text)) if labels else False
    found = set(_YEAR.findall(text)) if years else set()
    return (float(new) if labels else 0.0, float(not new) if labels else 0.0,
            float(bool(years & found)), float(bool(found) and not years & found))
