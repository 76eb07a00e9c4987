"""`qa train-reader`: train the answer reader on the question set, calibrate it on dev, ship it if better."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from qa.answerers.training.pipeline import Plan
from qa.answerers.training.train import TrainSettings

TRAIN_HELP = {
    "epochs": "passes over the training questions", "group": "candidates per question in a step",
    "positives": "right candidates per question in a step, at most",
    "hard": "wrong candidates are drawn from the prefilter's best this many", "groups_per_step": "questions per step",
    "learning_rate": "the transformer's learning rate", "head_learning_rate": "the heads' learning rate",
    "warmup": "share of the steps with a rising learning rate", "weight_decay": "AdamW weight decay",
    "pointwise": "weight of the per-candidate loss", "span": "weight of the short-answer span loss", "seed": "random seed",
    "threads": "torch CPU threads (0: its default)", "bf16": "bfloat16 autocast: auto, on or off",
    "max_questions": "train on this many questions only (0: all), for a quick try",
    "places": "read where a candidate sits relative to the previous answer",
}


def configure_train_reader(p: argparse.ArgumentParser) -> None:
    plan = Plan()
    p.description = (f"{p.description}. Run from the repository root; the index --index defaults to {plan.index} "
                     "(NewsArticles and the question set's pages, built when missing).")
    p.add_argument("--train", type=Path, default=plan.train, help=f"training questions (default {plan.train})")
    p.add_argument("--dev", type=Path, default=plan.dev, help=f"dev questions: the choice and the calibration (default {plan.dev})")
    p.add_argument("--test", default=str(plan.test), help=f"test questions, measured for the report only ('' skips; default {plan.test})")
    p.add_argument("--work", type=Path, default=plan.work, help=f"candidate lists, the training log, the new reader (default {plan.work})")
    p.add_argument("--out", type=Path, default=plan.out, help="where the reader goes if it beats the one there on dev (default: the packaged reader)")
    p.add_argument("--base", default=None, help="the transformer to start from (default: the packaged all-MiniLM-L6-v2)")
    p.add_argument("--force", action="store_true", help="install even if the reader in --out is better on dev")
    p.add_argument("--refit-prefilter", action="store_true",
                   help="first refit the prefilter (the linear model that picks what the reader reads) on the training "
                        "questions, then collect their candidates again with it; installed with the reader")
    p.add_argument("--no-stack", dest="stack", action="store_false",
                   help="score by the reader alone (default: the reader's logit plus a weight, chosen on dev, times the prefilter's)")
    defaults = TrainSettings()
    for f in fields(TrainSettings):
        value = getattr(defaults, f.name)
        flag, text = f"--{f.name.replace('_', '-')}", f"{TRAIN_HELP.get(f.name, f.name)} (default {value})"
        if isinstance(value, bool):
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=value, help=text)
        else:
            p.add_argument(flag, type=type(value), default=value, help=text)
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def cmd_train_reader(args: argparse.Namespace) -> int:
    from qa.answerers.training.pipeline import run

    training = TrainSettings(**{f.name: getattr(args, f.name) for f in fields(TrainSettings)})
    plan = Plan(train=args.train, dev=args.dev, test=Path(args.test) if args.test else None,
                index=Path(args.index) if args.index is not None else Plan().index, work=args.work, out=args.out,
                base=args.base, force=args.force, refit_prefilter=args.refit_prefilter, stack=args.stack,
                progress=not args.quiet, training=training)
    run(plan, say=lambda text: print(text, file=sys.stderr))
    return 0
