"""Which ranker should choose the answer sentence? `python -m benchmarks.readers` (issue 21): chosen on dev, test reported.

Every ranker scores the same candidate lists: each question of the split asked after its gold conversation, its
candidates as the answerer finds them (every sentence of the best articles), labelled by the accepted answers
(qa.answerers.training.lists). The rankers:
- `linear (8dcd820)`: today's model when the reader work began (the listwise logistic model of issue 10, read from
  git), over the same candidates;
- `linear (shipped)`: the prefilter the candidates were collected with (the packaged linear model);
- `linear (refit)`: the same recipe refitted on the training split (qa.answerers.training.prefilter: no retrieval
  ranks or scores, no token alignment);
- `reader`: the cross-encoder (the packaged one, or --reader), over the prefilter's best READ candidates;
- `stacked`: the reader's logit plus a weight times the linear model's logit, the weight chosen on dev (out of fold
  over article-grouped folds, then on all of dev);
- `bi-encoder`: the packaged MiniLM fine-tuned on the training split (question, and the previous question for a
  follow-up, to its answer sentence; in-batch and hard negatives), cosine to each candidate.
Measures: right at rank 1 by kind and within the top 3 (answerable questions), the AUC of the best score (right
answers against the rest), and the share of questions right at the best threshold on the best score (answered right,
or abstained when unanswerable). Writes benchmarks/results/readers.json. About 15 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from benchmarks.common import CACHE, REPO, RESULTS, machine
from qa.answerers.extractive import AnswerSettings, ExtractiveAnswerer
from qa.answerers.reader import load_reader
from qa.answerers.scoring import ScoringModel, model_file
from qa.answerers.training import lists as L
from qa.answerers.training.corpus import build_index
from qa.answerers.training.measure import line, prefilter_scores, rank_metrics, reader_scores
from qa.answerers.training.prefilter import fit_prefilter, scores as linear_scores, stack_weight, stacked
from qa.retrieval import Retriever

QUESTIONS = REPO / "benchmarks" / "questions"
READ = AnswerSettings().read
BEFORE = "8dcd820"  # main when the reader work began (issue 21)


def model_at(ref: str, encoder_name: str) -> ScoringModel:
    """The packaged linear model as committed at `ref`."""
    relative = model_file(encoder_name).relative_to(REPO)
    text = subprocess.run(["git", "-C", str(REPO), "show", f"{ref}:{relative}"], check=True, capture_output=True, text=True).stdout
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "model.json").write_text(text, encoding="utf-8")
        return ScoringModel.read(Path(tmp) / "model.json")


def out_of_fold(lists: Sequence[L.QuestionList], reader: list[np.ndarray], linear: list[np.ndarray], folds: int = 5) -> list[np.ndarray]:
    """Stacked scores of each dev question with the weight chosen on the other folds (questions grouped by article)."""
    groups = sorted({q.group for q in lists})
    random.Random(0).shuffle(groups)
    fold_of = {g: i % folds for i, g in enumerate(groups)}
    out: list[np.ndarray] = [np.zeros(0)] * len(lists)
    for f in range(folds):
        inside = [i for i, q in enumerate(lists) if fold_of[q.group] != f]
        weight = stack_weight([lists[i] for i in inside], [reader[i] for i in inside], [linear[i] for i in inside])
        for i, q in enumerate(lists):
            if fold_of[q.group] == f:
                out[i] = reader[i] + weight * np.where(np.isfinite(reader[i]), linear[i], 0.0)
    return out


def bi_encoder(train: Sequence[L.QuestionList], epochs: int, seed: int) -> Any:
    """MiniLM fine-tuned as a bi-encoder on (question, answer sentence) with in-batch and hard negatives; returns a scorer."""
    import torch
    from sentence_transformers import SentenceTransformer

    from qa.encoders.hf import packaged_model_path

    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = SentenceTransformer(packaged_model_path() or "sentence-transformers/all-MiniLM-L6-v2", device="cpu")
    examples = []
    for q in train:
        right = [r for r in q.rows if r.label == 1]
        wrong = [r for r in q.rows if r.label == 0 and r.rank < READ]
        if right and wrong:
            examples.append((query_text(q), rng.choice(right).text, rng.choice(wrong).text))
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-5)
    model.train()
    batch = 32
    for _ in range(epochs):
        rng.shuffle(examples)
        for a in range(0, len(examples), batch):
            chunk = examples[a : a + batch]
            queries = model({k: v for k, v in model.tokenize([c[0] for c in chunk]).items()})["sentence_embedding"]
            texts = model({k: v for k, v in model.tokenize([c[1] for c in chunk] + [c[2] for c in chunk]).items()})["sentence_embedding"]
            scores = torch.nn.functional.normalize(queries, dim=-1) @ torch.nn.functional.normalize(texts, dim=-1).T * 20.0
            loss = torch.nn.functional.cross_entropy(scores, torch.arange(len(chunk)))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()

    def score(lists: Sequence[L.QuestionList]) -> list[np.ndarray]:
        out = []
        for q in lists:
            if not q.rows:
                out.append(np.zeros(0))
                continue
            vectors = model.encode([query_text(q)] + [r.text for r in q.rows], normalize_embeddings=True, batch_size=64)
            out.append(vectors[1:] @ vectors[0])
        return out

    return score, len(examples)


def query_text(q: L.QuestionList) -> str:
    return f"{q.question} | {q.previous_question}" if q.previous_question else q.question


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=CACHE / "qa-index")
    parser.add_argument("--work", type=Path, default=CACHE / "reader")
    parser.add_argument("--reader", default=None, help="the reader to measure (default: the packaged one)")
    parser.add_argument("--bi-encoder-epochs", type=int, default=1)
    parser.add_argument("--no-bi-encoder", action="store_true")
    parser.add_argument("--results", type=Path, default=RESULTS / "readers.json")
    args = parser.parse_args()
    started = time.time()
    print(build_index(args.index, QUESTIONS), file=sys.stderr)
    answerer = ExtractiveAnswerer(Retriever.load(args.index))
    lists = {name: L.cached(answerer, QUESTIONS / f"answers-{name}.jsonl", args.work, progress=True) for name in ("train", "dev", "test")}
    reader = load_reader(args.reader)
    scores: dict[str, dict[str, list[np.ndarray]]] = {}
    for split in ("dev", "test"):
        ls = lists[split]
        scores[split] = {"linear (shipped)": prefilter_scores(ls), "reader": reader_scores(reader, ls, READ)}
    refit = fit_prefilter(lists["train"], answerer.retriever.encoder.name)
    before = model_at(BEFORE, answerer.retriever.encoder.name)
    for split in ("dev", "test"):
        scores[split]["linear (refit)"] = linear_scores(refit, lists[split])
        scores[split][f"linear ({BEFORE})"] = linear_scores(before, lists[split])
    stacking: dict[str, Any] = {}
    for base in ("linear (shipped)", "linear (refit)", f"linear ({BEFORE})"):
        name = f"stacked: reader + {base}"
        weight = stack_weight(lists["dev"], scores["dev"]["reader"], scores["dev"][base])
        stacking[name] = weight
        scores["dev"][name] = out_of_fold(lists["dev"], scores["dev"]["reader"], scores["dev"][base])
        scores["test"][name] = stacked(scores["test"]["reader"], scores["test"][base], weight)
    bi_examples = 0
    if not args.no_bi_encoder:
        score, bi_examples = bi_encoder(lists["train"], args.bi_encoder_epochs, seed=21)
        for split in ("dev", "test"):
            scores[split]["bi-encoder"] = score(lists[split])
    results = {split: {name: rank_metrics(lists[split], s) for name, s in by_name.items()} for split, by_name in scores.items()}
    for split in ("dev", "test"):
        print(f"\n{split} ({len(lists[split])} questions, gold conversations):")
        for name, metrics in results[split].items():
            print(f"  {name:<40} {line(metrics)}")
    print("\n" + table(results))
    report = {"machine": machine(), "reader": reader.name, "read": READ, "stacking_weights": stacking,
              "bi_encoder_examples": bi_examples, "data": {k: len(v) for k, v in lists.items()}, "results": results,
              "seconds": round(time.time() - started, 1)}
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.results}", file=sys.stderr)
    return 0


def table(results: dict[str, dict[str, Any]]) -> str:
    rows = ["| ranker | dev: first / follow-up / casual at rank 1 | dev: top 3 | dev: right at best threshold | dev AUC "
            "| test: first / follow-up / casual at rank 1 | test: right at best threshold |", "|---|---|---|---|---|---|---|"]
    for name in results["dev"]:
        d, t = results["dev"][name], results["test"][name]
        kinds = lambda m: " / ".join(f"{m['rank1'].get(k, 0):.1%}" for k in ("first", "followup", "casual"))  # noqa: E731
        rows.append(f"| {name} | {kinds(d)} | {d['top3']['all']:.1%} | {d['right_best_threshold']:.1%} | {d['auc']:.3f} "
                    f"| {kinds(t)} | {t['right_best_threshold']:.1%} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
