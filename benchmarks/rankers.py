"""Which answer ranker can the dev split fit? `python benchmarks/rankers.py` (issue 10, round 3; dev split only).

Every dev question's candidates are collected with the shipped answerer (`qa.calibration.collect`), on the default
candidate pool and on a wider one (`--wide`: 24 follow-up and 16 other sentences encoded instead of 12). On the same
article-grouped folds it then measures how often the best-scored candidate is right, by kind of question:

- `oracle`: any candidate of the pool is right (the ceiling of every ranker on that pool);
- `linear`: the scoring model's recipe (listwise logistic regression over the shipped model's features), refitted
  out of fold, at several L2 strengths;
- `cross-encoder`: the packaged MiniLM read as a cross-encoder (question and conversation | candidate, mean-pooled,
  a linear head), its top `--layers` layers and the head fine-tuned with a listwise loss on the other fold (2 folds);
- `linear + cross-encoder`: the cross-encoder's out-of-fold score as one more feature of the linear model.

Prints a table and writes benchmarks/results/rankers.json. About 20 minutes on 2 cores (most of it the
cross-encoder's training; `--no-cross-encoder` skips it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

import numpy as np  # noqa: E402

import qa.calibration as cal  # noqa: E402
from qa.answerers import ExtractiveAnswerer  # noqa: E402
from qa.answerers.candidates import FEATURES  # noqa: E402
from qa.evaluation import read_questions  # noqa: E402
from qa.retrieval import Retriever  # noqa: E402

KINDS = ("first", "followup", "casual")


def best_right(examples: list[cal.Example], scores: dict[int, np.ndarray] | None = None) -> dict[str, float]:
    """Per kind, the share of answerable questions whose best allowed candidate is right (None: the oracle)."""
    out = {}
    for kind in KINDS:
        idx = [i for i, e in enumerate(examples) if e.question.kind == kind and e.question.answerable]
        ok = []
        for i in idx:
            e = examples[i]
            if e.scored is None or not len(e.labels):
                ok.append(0.0)
                continue
            allowed = np.asarray(e.scored.allowed, bool)
            if scores is None:
                ok.append(float((e.labels * allowed).max() > 0))
            else:
                ok.append(float(e.labels[int(np.argmax(np.where(allowed, scores[i], -np.inf)))] > 0))
        out[kind] = round(float(np.mean(ok)), 4)
    return out


def linear(examples: list[cal.Example], features: tuple[str, ...], l2: float) -> dict[str, Any]:
    _, rep = cal.fit(examples, "dev", features=features, l2=l2)
    return {"best_candidate_right": rep["best_candidate_right"], "auc": rep["auc"]["calibrator"],
            "at_threshold": {k: v["right"] for k, v in rep["out_of_fold"].items() if isinstance(v, dict)}}


def left_text(e: cal.Example) -> str:
    """What the cross-encoder reads of the question: the resolved question, and the previous question for a follow-up."""
    ctx = e.scored.ctx
    return ctx.resolved + (f" [SEP] {ctx.previous.question}" if ctx.followup and ctx.previous is not None else "")


def cross_encoder_oof(examples: list[cal.Example], layers: int, epochs: int, seed: int = 0) -> dict[int, np.ndarray]:
    """Out-of-fold cross-encoder scores of every candidate (2 folds grouped by article)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from qa.hf import DEFAULT_MODEL, resolve_model

    torch.manual_seed(seed)
    path = resolve_model(DEFAULT_MODEL)
    tokenizer = AutoTokenizer.from_pretrained(path)

    class CrossEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(path)
            for p in self.bert.parameters():
                p.requires_grad = False
            for layer in self.bert.encoder.layer[-layers:]:
                for p in layer.parameters():
                    p.requires_grad = True
            self.head = torch.nn.Linear(self.bert.config.hidden_size, 1)

        def forward(self, question: str, texts: list[str]) -> Any:
            enc = tokenizer([question] * len(texts), texts, truncation="longest_first", max_length=160, padding=True, return_tensors="pt")
            out = self.bert(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            return self.head((out * mask).sum(1) / mask.sum(1)).squeeze(-1)

    usable = [i for i, e in enumerate(examples) if e.scored is not None and len(e.scored.texts)]
    groups = sorted({examples[i].group for i in usable})
    random.Random(seed).shuffle(groups)
    half = set(groups[: len(groups) // 2])
    folds = [[i for i in usable if examples[i].group in half], [i for i in usable if examples[i].group not in half]]
    scores: dict[int, np.ndarray] = {}
    for train, test in ((folds[0], folds[1]), (folds[1], folds[0])):
        model = CrossEncoder()
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-5, weight_decay=0.01)
        positives = [i for i in train if examples[i].question.answerable and examples[i].labels.max() > 0]
        t = time.perf_counter()
        for epoch in range(epochs):
            random.Random(seed + epoch).shuffle(positives)
            total = 0.0
            for i in positives:
                e = examples[i]
                logp = torch.log_softmax(model(left_text(e), e.scored.texts), 0)
                y = torch.tensor(e.labels, dtype=torch.float32)
                loss = -(logp * y / y.sum()).sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach())
            print(f"cross-encoder fold epoch {epoch}: loss {total / len(positives):.3f} ({time.perf_counter() - t:.0f} s)", file=sys.stderr)
        model.eval()
        with torch.no_grad():
            for i in test:
                scores[i] = model(left_text(examples[i]), examples[i].scored.texts).numpy()
    return scores


def with_column(examples: list[cal.Example], column: dict[int, np.ndarray]) -> list[cal.Example]:
    out = []
    for i, e in enumerate(examples):
        if e.scored is None or i not in column:
            out.append(cal.Example(e.question, None, np.zeros(0), e.group))
            continue
        features = np.hstack([e.scored.features, column[i].reshape(-1, 1)])
        out.append(cal.Example(e.question, SimpleNamespace(features=features, allowed=e.scored.allowed), e.labels, e.group))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=ROOT / ".cache" / "qa-index", help="built by benchmarks/ask.py")
    parser.add_argument("--questions", type=Path, default=ROOT / "questions" / "answers-dev.jsonl")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--no-cross-encoder", dest="cross_encoder", action="store_false")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "rankers.json")
    args = parser.parse_args()
    questions, skipped = read_questions(args.questions)
    assert not skipped, skipped
    retriever = Retriever.load(args.index)
    shipped = ExtractiveAnswerer(retriever)
    features = shipped.model.features
    rows: dict[str, Any] = {}
    pools = {"default": {}, "wide": {"max_followup_candidates": 24, "max_candidates": 16}}
    examples = {}
    for pool, overrides in pools.items():
        answerer = ExtractiveAnswerer(retriever, model=shipped.model, **overrides)
        examples[pool] = cal.collect(answerer, questions, progress=True)
        rows[f"oracle ({pool} pool)"] = {"best_candidate_right": best_right(examples[pool])}
        for l2 in (1.0, 10.0, 50.0):
            rows[f"linear, L2 {l2:g} ({pool} pool)"] = linear(examples[pool], features, l2)
    if args.cross_encoder:
        oof = cross_encoder_oof(examples["default"], args.layers, args.epochs)
        rows[f"cross-encoder, top {args.layers} layers, {args.epochs} epochs"] = {"best_candidate_right": best_right(examples["default"], oof)}
        cal.FEATURES = FEATURES + ("cross_encoder",)
        rows["linear L2 1 + cross-encoder feature"] = linear(with_column(examples["default"], oof), (*features, "cross_encoder"), 1.0)
        cal.FEATURES = FEATURES
    print(f"\n{'ranker (dev, out of fold)':58} {'first':>7} {'follow-up':>10} {'casual':>7} {'AUC':>6}")
    for name, row in rows.items():
        b = row["best_candidate_right"]
        print(f"{name:58} {b['first']:7.1%} {b['followup']:10.1%} {b['casual']:7.1%} {row.get('auc', float('nan')):6.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"questions": str(args.questions.name), "features": list(features), "rankers": rows}, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
