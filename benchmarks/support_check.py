"""How well the support check tells supported from unsupported sentences: `python -m benchmarks.support_check`.

Claims are built from the question sets' gold evidence (FactCC-style, no model involved). For each answerable
question whose accepted answer is found in its article, the passage is the answer's sentence and the next one,
as the prompt shows them. Supported claims: that sentence, and its prefix up to the end of the answer phrase.
Unsupported claims: the sentence with a number changed, a name swapped for one from another article, a negation
added, and a sentence of another article. Every claim is checked against that one passage, cited as [1]. The
support model's weights are refitted (logistic regression) on the dev split's claims and both models are
reported on the test split's. `--save` writes the fitted model when it is better on dev. Writes
benchmarks/results/support_check.json.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent

from qa.answerers.prompt import Passage  # noqa: E402
from qa.answerers.support import FEATURES, SupportChecker, SupportModel, load_support_model, model_path  # noqa: E402
from qa.encoders import load_encoder  # noqa: E402
from qa.evaluation import metrics as m  # noqa: E402
from qa.evaluation import read_questions  # noqa: E402
from qa.reading.chunking import split_sentences  # noqa: E402
from qa.retrieval import Retriever  # noqa: E402

KINDS = ("verbatim", "prefix", "number", "name", "negation", "other_article")
_AUX = re.compile(r"\b(is|was|were|are|has|had|have|will|would|can|could)\b")
_NAME = re.compile(r"(?<!^)(?<![.!?] )\b[A-Z][a-z]{2,}\b")


def claims_for(split: str, retriever: Retriever, rng: random.Random) -> list[dict[str, Any]]:
    questions, _ = read_questions(ROOT / "questions" / f"answers-{split}.jsonl")
    found = []
    for q in questions:
        if not q.answerable or not q.answers:
            continue
        article = retriever.article(q.relevant[0]) if q.relevant else None
        if article is None:
            continue
        spans = split_sentences(article.text)
        for i, (a, b) in enumerate(spans):
            at = next((article.text.find(x, a, b) for x in q.answers if article.text.find(x, a, b) >= 0), -1)
            if at >= 0:
                end = spans[i + 1][1] if i + 1 < len(spans) else b
                found.append((q, article, article.text[a:b], article.text[a:end], a, at - a))
                break
    out = []
    names = [n for f in found for n in _NAME.findall(f[2])]
    for j, (q, article, sentence, passage_text, start, _) in enumerate(found):
        passage = Passage(number=1, article_id=article.id, title=article.title, url="", published=article.published,
                          source=article.source, text=passage_text, start=start, score=1.0)
        made = {"verbatim": sentence}
        cut = next((sentence.find(x) + len(x) for x in q.answers if x in sentence), -1)
        if len(sentence[:cut].split()) >= 5 and cut < len(sentence.rstrip(". ")):
            made["prefix"] = sentence[:cut].rstrip(" ,;:") + "."
        number = re.search(r"\b\d+\b", sentence)
        if number:
            made["number"] = sentence[: number.start()] + str(int(number.group()) * 3 + 7) + sentence[number.end():]
        own = _NAME.findall(sentence)
        others = [n for n in names if n not in passage_text]
        if own and others:
            made["name"] = sentence.replace(own[0], rng.choice(others), 1)
        aux = _AUX.search(sentence)
        if aux and " not " not in sentence:
            made["negation"] = sentence[: aux.end()] + " not" + sentence[aux.end():]
        other = found[(j + 1 + rng.randrange(len(found) - 1)) % len(found)]
        if other[1].id != article.id:
            made["other_article"] = other[2]
        for kind, claim in made.items():
            out.append({"question": q.question, "kind": kind, "claim": claim, "passage": passage,
                        "supported": kind in ("verbatim", "prefix")})
    return out


def check(claims: list[dict[str, Any]], encoder: Any, model: SupportModel) -> list[dict[str, Any]]:
    def vectors(a, b):  # type: ignore[no-untyped-def]
        return encoder.encode(list(a)), encoder.encode(list(b))

    rows = []
    for c in claims:
        verdict = SupportChecker([c["passage"]], vectors, model).check(c["claim"], c["question"], [1])
        features = verdict.best.features if verdict.best is not None else None
        rows.append({**c, "features": features, "predicted": verdict.supported, "probability": verdict.support})
    return rows


def fit(rows: list[dict[str, Any]], base: SupportModel, steps: int = 4000, l2: float = 0.01) -> SupportModel:
    """Logistic regression on the claims' features (claims the check refuses outright are left out)."""
    usable = [r for r in rows if r["features"] is not None]
    x = np.array([[r["features"][f] for f in FEATURES] for r in usable])
    y = np.array([float(r["supported"]) for r in usable])
    w, b = np.array([base.weights[f] for f in FEATURES]), base.bias
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(x @ w + b, -30, 30)))
        w -= 0.1 * (x.T @ (p - y) / len(y) + l2 * w)
        b -= 0.1 * float(np.mean(p - y))
    return replace(base, weights={f: round(float(v), 3) for f, v in zip(FEATURES, w)}, bias=round(float(b), 3),
                   source="fitted by benchmarks/support_check.py on the dev split's claims")


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def share(values: list[float]) -> dict[str, Any]:
        if not values:
            return {"value": 0.0, "n": 0}
        _, low, high = m.paired_difference(values, [0.0] * len(values))
        return {"value": round(m.mean(values), 4), "n": len(values), "ci95": [round(low, 4), round(high, 4)]}

    pos = [float(r["predicted"]) for r in rows if r["supported"]]
    neg = [float(r["predicted"]) for r in rows if not r["supported"]]
    return {"supported_kept": share(pos), "unsupported_passed": share(neg),
            "supported_rate_by_kind": {k: share([float(r["predicted"]) for r in rows if r["kind"] == k]) for k in KINDS}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=ROOT / ".cache" / "news100-index")
    parser.add_argument("--save", action="store_true", help="write the fitted support model when it is better on dev")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "support_check.json")
    args = parser.parse_args()
    retriever = Retriever.load(args.index)
    encoder = load_encoder()
    base = load_support_model(encoder.name)
    rng = random.Random(0)
    dev, test = claims_for("dev", retriever, rng), claims_for("test", retriever, rng)
    dev_rows, test_rows = check(dev, encoder, base), check(test, encoder, base)
    fitted = fit(dev_rows, base)
    doc: dict[str, Any] = {"claims": {"dev": len(dev), "test": len(test)}, "current_model": base.source,
                           "current": {"dev": summary(dev_rows), "test": summary(test_rows)},
                           "fitted": {"weights": fitted.weights, "bias": fitted.bias,
                                      "dev": summary(check(dev, encoder, fitted)), "test": summary(check(test, encoder, fitted))}}
    score = lambda s: s["supported_kept"]["value"] - 3 * s["unsupported_passed"]["value"]  # noqa: E731 - a false pass costs 3
    doc["adopted"] = bool(args.save and score(doc["fitted"]["dev"]) > score(doc["current"]["dev"]))
    if doc["adopted"]:
        replace(fitted, report={"dev": doc["fitted"]["dev"], "test": doc["fitted"]["test"]}).save(model_path(encoder.name))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    for name in ("current", "fitted"):
        for split in ("dev", "test"):
            s = doc[name][split]
            print(f"{name:8} {split:5} supported kept {s['supported_kept']['value']:.2f} (n={s['supported_kept']['n']}) · "
                  f"unsupported passed {s['unsupported_passed']['value']:.2f} (n={s['unsupported_passed']['n']}) · "
                  + " ".join(f"{k} {v['value']:.2f}" for k, v in s["supported_rate_by_kind"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
