"""Answer side of `qa eval`: conversations replayed with the system's own answers, per-question answer records,
and answer metrics overall and by kind of question (first, follow-up, casual, unanswerable)."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from qa.conversation import Turn
from qa.evaluation import metrics as m
from qa.types import Answer

KIND_ORDER = ("first", "followup", "casual", "unanswerable")


class Conversations:
    """The turns of the conversations asked so far in one mode: a line whose `history` is [q1, q2] reuses the
    answers given to q1 (with no history) and to q2 (after q1), asking only those not asked yet."""

    def __init__(self, answer: Callable[[str, str, Sequence[Turn]], Answer] | None, mode: str) -> None:
        self._answer, self._mode = answer, mode
        self._turns: dict[tuple[str, ...], Turn] = {}

    def turns(self, history: Sequence[str]) -> list[Turn]:
        turns: list[Turn] = []
        for i, question in enumerate(history):
            key = tuple(history[: i + 1])
            if key not in self._turns:
                if self._answer is None:
                    self._turns[key] = Turn(question)
                else:
                    self._turns[key] = Turn.of(question, self._answer(question, self._mode, list(turns)))
            turns.append(self._turns[key])
        return turns

    def remember(self, history: Sequence[str], question: str, answer: Answer) -> None:
        self._turns.setdefault((*history, question), Turn.of(question, answer))


def answer_record(answer: Answer, q: Any, relevant: Sequence[str], latency: float) -> dict[str, Any]:
    """What one answer scored: `correct` (an accepted phrase, quoted from the right article), `right` (correct,
    or abstained when unanswerable), and short-answer EM/F1 where a short answer is expected."""
    text = "" if answer.abstained else answer.text
    cited = [c.article_id for c in answer.citations]
    record: dict[str, Any] = {
        "text": answer.text,
        "abstained": answer.abstained,
        "confidence": answer.confidence,
        "short": answer.short.text if answer.short and not answer.abstained else "",
        "cited": cited,
        "latency_ms": round(latency, 3),
        "answerable": q.answerable,
        "kind": q.kind,
    }
    if q.answers and q.answerable:
        from_article = not relevant or not cited or cited[0] in relevant  # quoted from the right article
        record["correct"] = float(bool(m.contains_answer(text, q.answers)) and from_article)
    if not q.answerable:
        record["right"] = float(answer.abstained)
    elif "correct" in record:
        record["right"] = record["correct"]
    if q.short and q.answerable:
        record["em"] = m.exact_match(record["short"], q.short)
        record["f1"] = m.f1(record["short"], q.short) if record["short"] else 0.0
    return record


def answer_metrics(answers: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy, short-answer EM/F1, abstention precision/recall and latency, overall and by kind."""
    out = _summary(answers)
    precision, recall = m.abstention([a["abstained"] for a in answers], [a["answerable"] for a in answers])
    out["unanswerable"] = sum(1 for a in answers if not a["answerable"])
    out["abstention_precision"] = round(precision, 4)
    out["abstention_recall"] = round(recall, 4)
    kinds = sorted({a.get("kind", "first") for a in answers}, key=lambda k: (KIND_ORDER + (k,)).index(k))
    out["by_kind"] = {kind: _summary([a for a in answers if a.get("kind", "first") == kind]) for kind in kinds}
    return out


def _summary(answers: Sequence[dict[str, Any]]) -> dict[str, Any]:
    scored = [a for a in answers if "correct" in a]
    rated = [a for a in answers if "right" in a]
    shorts = [a for a in answers if "em" in a]
    return {
        "questions": len(answers),
        "scored": len(scored),
        "accuracy": round(m.mean([a["correct"] for a in scored]), 4),
        "right": round(m.mean([a["right"] for a in rated]), 4),
        "abstained": round(m.mean([float(a["abstained"]) for a in answers]), 4),
        "short_expected": len(shorts),
        "em": round(m.mean([a["em"] for a in shorts]), 4),
        "f1": round(m.mean([a["f1"] for a in shorts]), 4),
        "latency_ms": latency_summary([a["latency_ms"] for a in answers]),
    }


def latency_summary(values: Sequence[float]) -> dict[str, float]:
    return {"p50": round(m.percentile(values, 50), 2), "p95": round(m.percentile(values, 95), 2), "mean": round(m.mean(values), 2)}


def _pick(key: str, kind: str | None = None) -> Callable[[dict[str, Any]], float | None]:
    def pick(record: dict[str, Any]) -> float | None:
        answer = record.get("answer") or {}
        if kind is not None and answer.get("kind", record.get("kind")) != kind:
            return None
        return answer.get(key)

    return pick


PAIRED_METRICS: list[tuple[str, Callable[[dict[str, Any]], float | None]]] = [
    ("mrr@10", lambda r: r.get("mrr@10")),
    ("answer accuracy", _pick("correct")),
    *[(f"right: {kind}", _pick("right", kind)) for kind in KIND_ORDER],
    ("short-answer EM", _pick("em")),
    ("short-answer F1", _pick("f1")),
]
