"""`qa train-reader`: build the candidate lists, fine-tune the reader from MiniLM, export int8 ONNX, calibrate on
dev, measure dev (and test), and replace the packaged reader only when it beats it on dev."""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import shutil
import sys
import time
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np

from qa.answerers.reader import PACKAGED_READER
from qa.answerers.training.train import TrainSettings

log = logging.getLogger(__name__)

QUESTIONS = Path("benchmarks") / "questions"
WORK = Path("benchmarks") / ".cache" / "reader"
INDEX = Path("benchmarks") / ".cache" / "qa-index"
READ = 24  # candidates the reader reads per question when measured on lists (AnswerSettings.read)


def configure_train_reader(p: argparse.ArgumentParser) -> None:
    p.add_argument("--train", type=Path, default=QUESTIONS / "answers-train.jsonl", help="training questions")
    p.add_argument("--dev", type=Path, default=QUESTIONS / "answers-dev.jsonl", help="dev questions: calibration, the choice")
    p.add_argument("--test", type=Path, default=QUESTIONS / "answers-test.jsonl",
                   help="test questions, measured for the report only (give '' to skip)")
    p.add_argument("--work", type=Path, default=WORK, help="candidate lists, checkpoints and the new reader")
    p.add_argument("--out", type=Path, default=PACKAGED_READER,
                   help="where the reader goes if it beats the one there on dev (default: the packaged reader)")
    p.add_argument("--base", default=None, help="the transformer to start from (default: the packaged all-MiniLM-L6-v2)")
    p.add_argument("--force", action="store_true", help="write --out even if the reader there is better on dev")
    for f in fields(TrainSettings):
        p.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default, help=f"(default {f.default})")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def cmd_train_reader(args: argparse.Namespace) -> int:
    from tokenizers import Tokenizer

    from qa.answerers.extractive import ExtractiveAnswerer
    from qa.answerers.pairs import PairEncoder
    from qa.answerers.reader import OnnxReader
    from qa.answerers.training import export, train
    from qa.answerers.training.corpus import build_index
    from qa.answerers.training.network import load_network
    from qa.errors import ConfigError
    from qa.encoders.hf import packaged_model_path, resolve_model
    from qa.retrieval import Retriever

    started = time.time()
    args.index = Path(args.index) if args.index is not None else INDEX  # NewsArticles + the question set's pages
    settings = TrainSettings(**{f.name: getattr(args, f.name) for f in fields(TrainSettings)})
    for path in (args.train, args.dev):
        if not path.is_file():
            raise ConfigError(f"{path}: no such question file (run from the repository root, or give --train/--dev)")
    print(build_index(args.index, args.train.parent, progress=not args.quiet), file=sys.stderr)
    answerer = ExtractiveAnswerer(Retriever.load(args.index))
    lists = {name: _lists(answerer, path, args.work, not args.quiet) for name, path in (("train", args.train), ("dev", args.dev))}
    base = args.base or packaged_model_path() or resolve_model("sentence-transformers/all-MiniLM-L6-v2")
    tokenizer_file = Path(base) / "tokenizer.json"
    if not tokenizer_file.is_file():
        raise ConfigError(f"the base model {base} has no tokenizer.json (a folder with a fast BERT tokenizer is needed)")
    pair_encoder = PairEncoder(Tokenizer.from_file(str(tokenizer_file)))
    network = load_network(base, pair_encoder.tokenizer)
    network.to(_device())
    log_path = args.work / "train-log.jsonl"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", encoding="utf-8") as fh:
        trained = train.train(network, pair_encoder, lists["train"], settings, show=not args.quiet,
                              progress=lambda r: (fh.write(json.dumps(r) + "\n"), fh.flush()))
    network.to("cpu")
    candidate = args.work / "reader"
    shutil.rmtree(candidate, ignore_errors=True)
    config = {"name": f"article-qa-reader-{time.strftime('%Y%m%d')}", "base": str(Path(base).name or base),
              "base_license": "Apache-2.0", "max_length": pair_encoder.max_length, "read": READ}
    export.export(network, pair_encoder, tokenizer_file, candidate, config)
    new = OnnxReader(candidate)
    dev_new = measure_lists(new, lists["dev"])
    old = OnnxReader(args.out) if (args.out / "reader.json").is_file() else None
    dev_old = measure_lists(old, lists["dev"]) if old is not None else None
    print(f"dev (lists, top {READ}): new {_line(dev_new)}" + (f"; current {_line(dev_old)}" if dev_old else ""), file=sys.stderr)
    better = dev_old is None or dev_new["right_best_threshold"] > dev_old["right_best_threshold"]
    report: dict[str, Any] = {
        "data": {name: _counts(ls) for name, ls in lists.items()}, "train": trained, "dev_lists": {"new": dev_new, "current": dev_old},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    if not better and not args.force:
        print(f"the reader at {args.out} is as good or better on dev: kept (the new one is in {candidate})", file=sys.stderr)
    else:
        _calibrate_and_install(candidate, args, report, not args.quiet)
    report["seconds"] = round(time.time() - started, 1)
    (args.work / "report.json").write_text(json.dumps(report, indent=1, default=_plain) + "\n", encoding="utf-8")
    print(f"wrote {args.work / 'report.json'}", file=sys.stderr)
    return 0


def _calibrate_and_install(candidate: Path, args: argparse.Namespace, report: dict[str, Any], show: bool) -> None:
    """Calibrate the new reader on dev with the full answerer, measure test, and put it in --out."""
    from qa.answerers.extractive import ExtractiveAnswerer
    from qa.answerers.reader import CONFIG_FILE, OnnxReader
    from qa.answerers.training.calibrate import calibrate, outcome, replay
    from qa.evaluation import read_questions
    from qa.retrieval import Retriever

    retriever = Retriever.load(args.index)
    answerer = ExtractiveAnswerer(retriever, reader=OnnxReader(candidate))
    dev, _ = read_questions(args.dev)
    calibration, dev_report = calibrate(answerer, dev, source=str(args.dev), progress=show)
    config = json.loads((candidate / CONFIG_FILE).read_text(encoding="utf-8"))
    config["calibration"] = calibration.to_dict()
    report["dev"] = dev_report
    if args.test and str(args.test) and args.test.is_file():
        test, _ = read_questions(args.test)
        records = replay(answerer, test, progress=show)
        logits = np.array([r["logit"] for r in records])
        report["test"] = outcome(records, calibration.probability(logits), calibration.threshold)
    config["trained"] = {"data": report["data"], "settings": report["train"]["settings"], "seconds": report["train"]["seconds"],
                         "dev": dev_report["outcome"], "test": report.get("test")}
    (candidate / CONFIG_FILE).write_text(json.dumps(config, indent=1, default=_plain) + "\n", encoding="utf-8")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in ("model.onnx", "tokenizer.json", CONFIG_FILE):
        shutil.copyfile(candidate / name, args.out / name)
    print(f"installed the new reader in {args.out}: dev right {dev_report['outcome']['all']['right']:.1%} at threshold "
          f"{calibration.threshold:.3f}" + (f"; test right {report['test']['all']['right']:.1%}" if "test" in report else ""),
          file=sys.stderr)


def _device() -> str:
    """A GPU when torch sees one (training is much faster there), else the CPU: the project never needs a GPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _lists(answerer: Any, path: Path, work: Path, show: bool) -> list[Any]:
    """The question file's candidate lists, cached under `work` by the file's and the prefilter's content."""
    from qa.answerers.training import lists as L

    digest = hashlib.sha1(path.read_bytes() + json.dumps(asdict(answerer.model), default=str).encode()).hexdigest()[:12]
    cached = work / "lists" / f"{path.stem}-{digest}.jsonl.gz"
    if not cached.exists():
        L.write(cached, L.collect(answerer, L.read_lines([path]), progress=show))
    return L.read(cached)


def measure_lists(reader: Any, lists: list[Any], within: int = READ) -> dict[str, Any]:
    """The reader on candidate lists (gold conversations): right at rank 1 by kind among the prefilter's best
    `within`, and the share right at the best threshold on the best logit (answered right or abstained when
    unanswerable), which is what choosing between readers compares."""
    from qa.answerers.training.calibrate import auc

    best, right, kinds, answerable = [], [], [], []
    for q in lists:
        rows = [r for r in q.rows if r.rank < within]
        logits = reader.read([q.pair(r) for r in rows]).logits if rows else np.zeros(0)
        i = int(np.argmax(logits)) if len(rows) else -1
        best.append(float(logits[i]) if i >= 0 else -30.0)
        right.append(float(i >= 0 and rows[i].label == 1))
        kinds.append(q.kind)
        answerable.append(q.answerable)
    best_a, right_a, can = np.array(best), np.array(right), np.array(answerable)
    order = np.unique(np.r_[best_a, 1e9])
    score = max(float(np.mean(np.where(best_a >= t, right_a > 0, ~can))) for t in order)
    by_kind = {k: round(float(np.mean([r for r, kk in zip(right, kinds) if kk == k])), 4) for k in sorted(set(kinds)) if k != "unanswerable"}
    return {"top1": by_kind, "right_best_threshold": round(score, 4), "auc": auc(best_a, right_a), "questions": len(lists)}


def _line(m: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v:.1%}" for k, v in m["top1"].items()) + f"; right at best threshold {m['right_best_threshold']:.1%}, AUC {m['auc']:.3f}"


def _counts(lists: list[Any]) -> dict[str, Any]:
    from collections import Counter

    from qa.answerers.training.lists import ceiling

    return {"questions": len(lists), "kinds": dict(Counter(q.kind for q in lists)), "candidate_ceiling": round(ceiling(lists), 4),
            f"ceiling_top{READ}": round(ceiling(lists, READ), 4)}


def _plain(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")
