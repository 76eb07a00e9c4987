"""Calibrating the reader on a dev question set: conversations replayed with the system's own answers, the best
candidate's logit against whether it is right, isotonic, and the threshold that gets the most questions right."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

import numpy as np

from qa.evaluation import metrics as m
from qa.answerers.calibration import MARGIN_WEIGHTS, Calibration, choose_threshold, evidence, fit_isotonic
from qa.answerers.training.measure import auc
from qa.answerers.extractive import ExtractiveAnswerer
from qa.conversation import Turn
from qa.evaluation import Question
from qa.types import Answer

KINDS = ("first", "followup", "casual", "unanswerable")


def replay(answerer: ExtractiveAnswerer, questions: Sequence[Question], *, progress: bool = False) -> list[dict[str, Any]]:
    """Every question answered without a threshold (its earlier turns first, with the answers the system gave them):
    the best candidate's logit, whether answering with it is right, and the runner-up's."""
    from tqdm import tqdm

    turns: dict[tuple[str, ...], Turn] = {}
    out = []
    for q in tqdm(questions, disable=not progress, desc="calibrating", unit="question"):
        history: list[Turn] = []
        for i, earlier in enumerate(q.history):
            key = q.history[: i + 1]
            if key not in turns:
                turns[key] = Turn.of(earlier, answerer.ask(earlier, list(history)))
            history.append(turns[key])
        scored = answerer.score(q.question, history)
        record: dict[str, Any] = {"kind": q.kind, "answerable": q.answerable, "logit": -30.0, "right": 0.0, "second": -30.0}
        if not isinstance(scored, Answer):
            rows = answerer.read(scored, history)
            if rows:
                order = sorted(rows, key=lambda i: -scored.logits[i])
                best = order[0]
                others = [i for i in order[1:] if scored.texts[i] != scored.texts[best]]  # twin articles repeat sentences
                relevant = {answerer.retriever.resolve(r) or r for r in q.relevant}
                from_article = not relevant or scored.candidates[best].article_id in relevant
                record["logit"] = float(scored.logits[best])
                record["right"] = float(q.answerable and bool(m.contains_answer(scored.texts[best], q.answers)) and from_article)
                record["second"] = float(scored.logits[others[0]]) if others else -30.0
            answer = answerer._answer(scored, history, replace(answerer.settings, threshold=0.0))
        else:
            answer = scored
        turns.setdefault((*q.history, q.question), Turn.of(q.question, answer))
        out.append(record)
    return out


def fit(records: Sequence[dict[str, Any]], reader: str, source: str = "", precision: float | None = None,
        margins: Sequence[float] = MARGIN_WEIGHTS) -> tuple[Calibration, dict[str, Any]]:
    """The calibration of these replayed answers: isotonic P(right | best logit plus a weight times its lead over the
    next candidate) over the questions that can be right (an unanswerable question's answer never is), the weight
    (of `margins`) and then the threshold that get the most questions right."""
    logits = np.array([r["logit"] for r in records])
    second = np.array([r.get("second", -30.0) for r in records])
    right = np.array([r["right"] for r in records])
    answerable = np.array([r["answerable"] for r in records], dtype=bool)
    best: tuple[float, Calibration] | None = None
    tried = {}
    for margin in margins:
        x = evidence(logits, second, margin)
        xs, ys = fit_isotonic(x, right)
        calibration = Calibration(xs, ys, margin=margin)
        probability = calibration.probability(logits, second)
        threshold = choose_threshold(probability, right, answerable, precision)
        score = outcome(records, probability, threshold)["all"]["right"]
        tried[str(margin)] = {"right": score, "threshold": threshold, "auc": auc(x, right)}
        if best is None or score > best[0]:
            best = (score, replace(calibration, threshold=threshold))
    assert best is not None
    calibration = best[1]
    probability = calibration.probability(logits, second)
    report = {"questions": len(records), "source": source, "reader": reader, "threshold": calibration.threshold,
              "precision": precision, "margin": calibration.margin, "margins_tried": tried,
              "outcome": outcome(records, probability, calibration.threshold),
              "auc": auc(evidence(logits, second, calibration.margin), right)}
    return replace(calibration, fitted_on=report), report


def outcome(records: Sequence[dict[str, Any]], probability: np.ndarray, threshold: float) -> dict[str, Any]:
    """Right answers by kind at a threshold: answered right, or abstained on an unanswerable question."""
    out: dict[str, Any] = {}
    for kind in (*KINDS, "all"):
        rows = [i for i, r in enumerate(records) if kind in ("all", r["kind"])]
        if not rows:
            continue
        ok = [(probability[i] >= threshold and records[i]["right"] > 0) or (probability[i] < threshold and not records[i]["answerable"])
              for i in rows]
        out[kind] = {"questions": len(rows), "right": round(float(np.mean(ok)), 4),
                     "abstained": round(float(np.mean([probability[i] < threshold for i in rows])), 4)}
    answerable = [i for i, r in enumerate(records) if r["answerable"]]
    out["top1"] = round(float(np.mean([records[i]["right"] for i in answerable])), 4) if answerable else 0.0
    return out


def calibrate(answerer: ExtractiveAnswerer, questions: Sequence[Question], *, source: str = "",
              precision: float | None = None, progress: bool = False) -> tuple[Calibration, dict[str, Any]]:
    """Replay the questions and fit the reader's calibration on them."""
    return fit(replay(answerer, questions, progress=progress), answerer.reader.name, source, precision)
