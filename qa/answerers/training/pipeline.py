"""The whole of `qa train-reader`: candidate lists, fine-tuning from MiniLM, int8 ONNX, the comparison with the
reader in place on dev, calibration on dev, test measured for the report, and the new reader installed if better."""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from qa.answerers.calibration import Calibration
from qa.answerers.extractive import AnswerSettings, ExtractiveAnswerer
from qa.answerers.reader import CONFIG_FILE, MODEL_FILE, PACKAGED_READER, TOKENIZER_FILE, OnnxReader
from qa.answerers.scoring import ScoringModel, model_file
from qa.answerers.training import lists as L
from qa.answerers.training.calibrate import calibrate, outcome, replay
from qa.answerers.training.card import CARD, write_card
from qa.answerers.training.corpus import build_index
from qa.answerers.training.measure import line, rank_metrics, reader_scores
from qa.answerers.training.prefilter import fit_prefilter, scores as prefilter_logits, stack_weight, stacked
from qa.answerers.training.train import TrainSettings
from qa.errors import ConfigError
from qa.evaluation import read_questions
from qa.retrieval import Retriever

log = logging.getLogger(__name__)

QUESTIONS = Path("benchmarks") / "questions"  # relative to the repository root, where the command runs
READ = AnswerSettings().read  # candidates the reader reads per question


@dataclass(frozen=True)
class Plan:
    """What `qa train-reader` reads and writes."""

    train: Path = QUESTIONS / "answers-train.jsonl"
    dev: Path = QUESTIONS / "answers-dev.jsonl"
    test: Path | None = QUESTIONS / "answers-test.jsonl"  # measured for the report only
    index: Path = Path("benchmarks") / ".cache" / "qa-index"  # NewsArticles + the question set's pages (built if missing)
    work: Path = Path("benchmarks") / ".cache" / "reader"  # candidate lists, the training log, the new reader, report.json
    out: Path = PACKAGED_READER  # replaced when the new reader beats the one there on dev
    base: str | None = None  # the transformer to start from (None: the packaged all-MiniLM-L6-v2)
    force: bool = False  # install even if the reader in `out` is better on dev
    refit_prefilter: bool = False  # refit the prefilter on the training lists first (and recollect the lists with it)
    stack: bool = True  # add the prefilter's logit to the reader's, with a weight chosen on dev
    progress: bool = True
    training: TrainSettings = field(default_factory=TrainSettings)


def run(plan: Plan, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Train, compare, calibrate and (when better) install a reader; returns the report also written to
    `plan.work/report.json`."""
    from tokenizers import Tokenizer

    from qa.answerers.pairs import PairEncoder
    from qa.answerers.training import export, train
    from qa.answerers.training.network import load_network
    from qa.encoders.hf import packaged_model_path, resolve_model

    started = time.time()
    for path in (plan.train, plan.dev):
        if not path.is_file():
            raise ConfigError(f"{path}: no such question file (run from the repository root, or give --train/--dev)")
    say(build_index(plan.index, plan.train.parent, progress=plan.progress))
    answerer = ExtractiveAnswerer(Retriever.load(plan.index))
    lists = {name: L.cached(answerer, path, plan.work, progress=plan.progress) for name, path in (("train", plan.train), ("dev", plan.dev))}
    if plan.refit_prefilter:
        answerer.model = fit_prefilter(lists["train"], answerer.retriever.encoder.name, source=plan.train.name)
        answerer.model.save(plan.work / "prefilter.json")
        say(f"refitted the prefilter on {len(lists['train'])} training questions; collecting the candidates again with it")
        lists = {name: L.cached(answerer, path, plan.work, progress=plan.progress) for name, path in (("train", plan.train), ("dev", plan.dev))}
    base = plan.base or packaged_model_path() or resolve_model("sentence-transformers/all-MiniLM-L6-v2")
    tokenizer_file = Path(base) / TOKENIZER_FILE
    if not tokenizer_file.is_file():
        raise ConfigError(f"the base model {base} has no {TOKENIZER_FILE} (a folder with a fast BERT tokenizer is needed)")
    pair_encoder = PairEncoder(Tokenizer.from_file(str(tokenizer_file)), places=plan.training.places)
    network = load_network(base, pair_encoder.tokenizer, plan.training.seed).to(_device())
    plan.work.mkdir(parents=True, exist_ok=True)
    with open(plan.work / "train-log.jsonl", "w", encoding="utf-8") as fh:
        trained = train.train(network, pair_encoder, lists["train"], plan.training, show=plan.progress,
                              progress=lambda r: (fh.write(json.dumps(r) + "\n"), fh.flush()))
    candidate = plan.work / "reader"
    shutil.rmtree(candidate, ignore_errors=True)
    config = {"name": f"article-qa-reader-{time.strftime('%Y%m%d')}", "base": Path(base).name or base,
              "base_license": "Apache-2.0", "max_length": pair_encoder.max_length, "places": plan.training.places}
    export.export(network.to("cpu"), pair_encoder, tokenizer_file, candidate, config)
    linear = prefilter_logits(answerer.model, lists["dev"])
    new_scores = reader_scores(OnnxReader(candidate), lists["dev"], READ)
    config["stack"] = stack_weight(lists["dev"], new_scores, linear) if plan.stack else 0.0
    (candidate / CONFIG_FILE).write_text(json.dumps({**json.loads((candidate / CONFIG_FILE).read_text(encoding="utf-8")),
                                                     "stack": config["stack"]}, indent=1) + "\n", encoding="utf-8")
    say(f"stacking: the prefilter's logit weighs {config['stack']} beside the reader's (chosen on dev)")
    new = rank_metrics(lists["dev"], stacked(new_scores, linear, config["stack"]))
    current = None
    if (plan.out / CONFIG_FILE).is_file():
        old = OnnxReader(plan.out)
        old_scores = reader_scores(old, lists["dev"], READ)
        current = rank_metrics(lists["dev"], stacked(old_scores, linear, float(old.config.get("stack", 0.0))))
    say(f"dev, gold conversations, the prefilter's best {READ}: new reader {line(new)}"
        + (f"\n  the reader in {plan.out}: {line(current)}" if current else ""))
    report: dict[str, Any] = {
        "data": {name: counts(ls) for name, ls in lists.items()}, "train": trained, "dev_lists": {"new": new, "current": current},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    if current is not None and new["right_best_threshold"] <= current["right_best_threshold"] and not plan.force:
        say(f"the reader in {plan.out} is as good or better on dev: kept (the new one is in {candidate})")
    else:
        install(candidate, plan, report, say)
    report["seconds"] = round(time.time() - started, 1)
    (plan.work / "report.json").write_text(json.dumps(report, indent=1, default=_plain) + "\n", encoding="utf-8")
    say(f"wrote {plan.work / 'report.json'}")
    return report


def install(candidate: Path, plan: Plan, report: dict[str, Any], say: Callable[[str], None]) -> None:
    """Calibrate the new reader on dev with the whole answerer (conversations with its own answers), measure test,
    and copy it to `plan.out` with its calibration and model card data in reader.json."""
    prefilter = ScoringModel.read(plan.work / "prefilter.json") if plan.refit_prefilter else None
    answerer = ExtractiveAnswerer(Retriever.load(plan.index), reader=OnnxReader(candidate), model=prefilter,
                                  calibration=Calibration())  # what is being fitted: uncalibrated meanwhile
    dev, _ = read_questions(plan.dev)
    calibration, dev_report = calibrate(answerer, dev, source=str(plan.dev), progress=plan.progress)
    answerer._calibration = calibration
    report["dev"] = dev_report
    if plan.test is not None and plan.test.is_file():
        test, _ = read_questions(plan.test)
        records = replay(answerer, test, progress=plan.progress)
        report["test"] = outcome(records, calibration.probability(np.array([r["logit"] for r in records])), calibration.threshold)
    config = json.loads((candidate / CONFIG_FILE).read_text(encoding="utf-8"))
    config["calibration"] = calibration.to_dict()
    config["trained"] = {"data": report["data"], "settings": report["train"]["settings"], "seconds": report["train"]["seconds"],
                         "dev": dev_report["outcome"], "test": report.get("test")}
    (candidate / CONFIG_FILE).write_text(json.dumps(config, indent=1, default=_plain) + "\n", encoding="utf-8")
    write_card(candidate)
    plan.out.mkdir(parents=True, exist_ok=True)
    for name in (MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE, CARD):
        shutil.copyfile(candidate / name, plan.out / name)
    if prefilter is not None and plan.out == PACKAGED_READER:  # the packaged reader reads the packaged prefilter's picks
        say(f"installed the refitted prefilter in {prefilter.save(model_file(prefilter.encoder))}")
    test_line = f"; test right {report['test']['all']['right']:.1%}" if "test" in report else ""
    say(f"installed the new reader in {plan.out}: dev right {dev_report['outcome']['all']['right']:.1%} at threshold "
        f"{calibration.threshold:.3f}{test_line}")


def counts(lists: list[L.QuestionList]) -> dict[str, Any]:
    return {"questions": len(lists), "kinds": dict(Counter(q.kind for q in lists)), "candidate_ceiling": round(L.ceiling(lists), 4),
            f"ceiling_top{READ}": round(L.ceiling(lists, READ), 4)}


def _device() -> str:
    """A GPU when torch sees one (training is much faster there), else the CPU: the project never needs a GPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _plain(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")
