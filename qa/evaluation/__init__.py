"""Batch evaluation: a JSONL question file in, retrieval and answer metrics per retrieval mode out."""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from qa import config
from qa.conversation import Turn, rewrite
from qa.errors import ConfigError, QAError
from qa.evaluation import metrics as m
from qa.evaluation.eval_answers import PAIRED_METRICS, Conversations, answer_metrics, answer_record
from qa.evaluation.eval_answers import latency_summary as _latency
from qa.reading.clean import without_surrogates
from qa.retrieval import Retriever
from qa.types import Answer

log = logging.getLogger(__name__)

CUTOFFS = (1, 5, 10)
KINDS = ("first", "followup", "casual", "unanswerable")


@dataclass(frozen=True)
class Question:
    """One line of a question file: the question, its relevant articles and acceptable answers, and the
    conversation it belongs to (the earlier questions, asked first, their answers carried as history)."""

    line: int
    question: str
    relevant: tuple[str, ...] = ()  # article ids or URLs, as written in the file
    answers: tuple[str, ...] = ()
    answerable: bool = True
    history: tuple[str, ...] = ()  # earlier questions of the conversation, oldest first
    kind: str = "first"  # first, followup, casual or unanswerable
    short: tuple[str, ...] = ()  # the expected short answers (a name, number, date...), when one is asked for
    id: str = ""
    conversation: str = ""


@dataclass(frozen=True)
class Skipped:
    """A line of the question file that could not be used, and why."""

    line: int
    reason: str


@dataclass
class ModeResult:
    """Per-question records and aggregate metrics of one retrieval mode."""

    mode: str
    records: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)


def read_questions(path: str | os.PathLike[str]) -> tuple[list[Question], list[Skipped]]:
    """Parse a JSONL question file; each malformed line is skipped and reported with its number."""
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise QAError(f"cannot read the question file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise QAError(f"the question file {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8 JSONL") from None
    questions, skipped = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            questions.append(parse_question(line, number))
        except ValueError as exc:
            log.warning("%s: line %d skipped: %s", path, number, exc)
            skipped.append(Skipped(number, str(exc)))
    return questions, skipped


def parse_question(line: str, number: int) -> Question:
    """One JSONL line as a Question; ValueError names what is wrong with it."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise ValueError("not valid JSON (nested too deeply)") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    question = data.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ValueError('"question" must be a non-empty string')
    relevant = _strings(data, "article_id") + _strings(data, "url")
    answers = _strings(data, "answers")
    answerable = data.get("answerable", True)
    if not isinstance(answerable, bool):
        raise ValueError(f'"answerable" must be true or false, got {answerable!r}')
    history = data.get("history") or []
    if not isinstance(history, list) or not all(isinstance(h, str) and h.strip() for h in history):
        raise ValueError(f'"history" must be a list of the earlier questions (non-empty strings), got {history!r}')
    kind = data.get("kind") or ("unanswerable" if not answerable else "followup" if history else "first")
    if kind not in KINDS:
        raise ValueError(f'"kind" must be one of {", ".join(KINDS)}, got {kind!r}')
    if kind == "followup" and not history:
        raise ValueError('a "followup" needs the earlier questions in "history"')
    ident, conversation = data.get("id", ""), data.get("conversation", "")
    if not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in (ident, conversation)):
        raise ValueError(f'"id" and "conversation" must be strings, got {ident!r} and {conversation!r}')
    return Question(
        number, without_surrogates(question.strip()), relevant, answers, answerable, tuple(h.strip() for h in history), kind,
        _strings(data, "short"), str(ident), str(conversation or ident),
    )


def _strings(data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        value = [value]
    if not all(_is_text(v) for v in value):
        raise ValueError(f'"{key}" must be a string, a whole number or a list of them, got {value!r}')
    return tuple(str(v) for v in value if str(v).strip())


def _is_text(value: Any) -> bool:
    """A string, or a whole number written without quotes (numeric article ids, a year as an answer)."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def parse_modes(values: Sequence[str] | None) -> list[str]:
    """`--mode` values (repeatable, comma-separated or 'all') as an ordered list of modes."""
    modes: list[str] = []
    for value in values or [config.MODE]:
        for name in value.split(","):
            name = name.strip()
            for mode in config.MODES if name == "all" else [name]:
                if mode not in config.MODES:
                    raise ConfigError(f"mode must be one of {', '.join(config.MODES)} or all, got {mode!r}")
                if mode not in modes:
                    modes.append(mode)
    return modes


AnswerFn = Callable[[str, str, Sequence[Turn]], Answer]  # (question, mode, conversation so far) -> Answer


def default_answerer(retriever: Retriever) -> AnswerFn | None:
    """The default (extractive) answerer over the retriever, or None where this installation has no answerer."""
    try:
        from qa.answerers import open_answerer
    except ImportError as exc:
        log.warning("answer metrics skipped: the answerer is not available (%s)", exc)
        return None
    answerer = open_answerer(retriever)
    return lambda question, mode, history: answerer.ask(question, history, mode=mode)


def evaluate(
    questions: Sequence[Question],
    retriever: Retriever,
    modes: Sequence[str] = (config.MODE,),
    *,
    k: int = config.EVAL_K,
    answer: AnswerFn | None = None,
    progress: bool = False,
) -> list[ModeResult]:
    """Run every question through each mode: article-level ranking metrics, answers, latency.

    A question with `history` is asked after its earlier questions, with the system's own answers to them
    as the conversation; it is searched as the answerer would (the follow-up rewritten with that history)."""
    if k < 1:
        raise ConfigError(f"k must be at least 1, got {k}")
    depth = max(k, *CUTOFFS)
    resolved = {q.line: _resolve(retriever, q) for q in questions}
    bar = _bar(len(questions) * len(modes), progress)
    results = []
    for mode in modes:
        result = ModeResult(mode)
        conversations = Conversations(answer, mode)
        for q in questions:
            turns = conversations.turns(q.history)
            query = rewrite(q.question, turns) if turns else q.question
            start = time.perf_counter()
            hits = retriever.search(query, depth, mode=mode, per_article=1)
            latency = (time.perf_counter() - start) * 1000
            ranked = m.dedupe(h.article_id for h in hits)
            record = _retrieval_record(q, mode, ranked, resolved[q.line], latency, depth)
            if answer is not None:
                start = time.perf_counter()
                given = answer(q.question, mode, turns)
                record["answer"] = answer_record(given, q, resolved[q.line], (time.perf_counter() - start) * 1000)
                conversations.remember(q.history, q.question, given)
            result.records.append(record)
            bar.update(1)
        result.metrics = aggregate(result.records, depth)
        results.append(result)
    bar.close()
    return results


def _resolve(retriever: Retriever, q: Question) -> list[str]:
    ids = []
    for key in q.relevant:
        found = retriever.resolve(key)
        if found is None:
            log.warning("line %d: relevant article %r is not in the index", q.line, key)
            found = key
        ids.append(found)
    return m.dedupe(ids)


def _retrieval_record(
    q: Question, mode: str, ranked: list[str], relevant: list[str], latency: float, depth: int
) -> dict[str, Any]:
    record: dict[str, Any] = {"line": q.line, "question": q.question, "mode": mode, "kind": q.kind, "relevant": relevant, "ranked": ranked}
    if q.history:
        record["history"] = list(q.history)
    if relevant:
        first = next((i for i, a in enumerate(ranked, 1) if a in relevant), None)
        record["rank"] = first
        record.update({f"recall@{c}": m.recall_at(ranked, relevant, c) for c in CUTOFFS})
        record["mrr@10"] = m.mrr_at(ranked, relevant, 10)
        record["ndcg@10"] = m.ndcg_at(ranked, relevant, 10)
        record["recall_curve"] = [m.recall_at(ranked, relevant, c) for c in range(1, depth + 1)]
    record["latency_ms"] = round(latency, 3)
    return record


def aggregate(records: Sequence[dict[str, Any]], depth: int) -> dict[str, Any]:
    """Mean ranking metrics over questions with relevant articles; answer and latency summaries."""
    ranked = [r for r in records if "rank" in r]
    out: dict[str, Any] = {"questions": len(records), "with_relevant": len(ranked)}
    for name in [f"recall@{c}" for c in CUTOFFS] + ["mrr@10", "ndcg@10"]:
        out[name] = round(m.mean([r[name] for r in ranked]), 4)
    out["recall_curve"] = [round(m.mean([r["recall_curve"][c] for r in ranked]), 4) for c in range(depth)]
    latencies = [r["latency_ms"] for r in records]
    out["latency_ms"] = _latency(latencies)
    answers = [r["answer"] for r in records if "answer" in r]
    out["answer"] = answer_metrics(answers) if answers else None
    return out


def compare_modes(results: Sequence[ModeResult]) -> list[dict[str, Any]]:
    """Each pair of modes on the same questions: mean MRR@10 (and answer accuracy) difference with a 95% paired-bootstrap CI."""
    out = []
    for i, a in enumerate(results):
        for b in results[i + 1 :]:
            out += [{"modes": [a.mode, b.mode], **c} for c in _paired(a.records, b.records)]
    return out


def read_baseline(directory: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The per-question records of an earlier `qa eval` run (its `results.jsonl`), to compare this run with."""
    path = Path(directory) / "results.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise QAError(f"cannot read the baseline {path}: {exc.strerror or exc} (give the --out directory of an earlier qa eval)") from None
    try:
        records = [json.loads(line) for line in lines if line.strip()]
    except json.JSONDecodeError as exc:
        raise QAError(f"the baseline {path} is not a qa eval results file: {exc.msg}") from None
    if not all(isinstance(r, dict) and {"line", "question", "mode"} <= r.keys() for r in records):
        raise QAError(f"the baseline {path} is not a qa eval results file (records need line, question and mode)")
    return records


def compare_to_baseline(results: Sequence[ModeResult], baseline: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each mode of this run against the same mode of an earlier run, on the questions both asked (matched by text)."""
    out = []
    for r in results:
        old = dict(_by_text([b for b in baseline if b["mode"] == r.mode]))
        pairs = [(rec, old[key]) for key, rec in _by_text(r.records) if key in old]
        if not pairs:
            log.warning("none of these questions is in the baseline's %s results; nothing to compare", r.mode)
            continue
        out += [{"mode": r.mode, **c} for c in _paired([a for a, _ in pairs], [b for _, b in pairs])]
    return out


def _by_text(records: Sequence[dict[str, Any]]) -> list[tuple[tuple[str, int], dict[str, Any]]]:
    """Records keyed by (question, how many times it was asked before): lines may move between runs."""
    seen: dict[str, int] = {}
    keyed = []
    for rec in records:
        n = seen[rec["question"]] = seen.get(rec["question"], -1) + 1
        keyed.append(((rec["question"], n), rec))
    return keyed


def _paired(a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each paired metric (MRR@10, answer accuracy, right answers by kind, short-answer EM) of a minus b, over
    the records paired by position where both have it, with a 95% paired-bootstrap interval."""
    out = []
    for metric, pick in PAIRED_METRICS:
        pairs = [(x, y) for x, y in zip(map(pick, a), map(pick, b)) if x is not None and y is not None]
        if pairs:
            diff, low, high = m.paired_difference([x for x, _ in pairs], [y for _, y in pairs])
            out.append({"metric": metric, "questions": len(pairs), "difference": round(diff, 4), "ci95": [round(low, 4), round(high, 4)]})
    return out


def _bar(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc="eval", unit="q", disable=not enabled, dynamic_ncols=True)


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
