"""The reader's calibration: its best logit as the probability that the answer is right, and the abstention threshold."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from qa.errors import ConfigError

CALIBRATION_FILE = "reader-calibration.json"  # <index>/answer-models/: fitted for that index by `qa calibrate`
DEFAULT_THRESHOLD = 0.5
RUNNER_UP_RATIO = 0.5  # a second candidate is shown as well when its probability is at least this share of the answer's
MARGIN_CAP = 4.0  # a lead over the next candidate counts up to this many logits
MARGIN_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)  # tried on dev for the lead's weight beside the best logit


@dataclass(frozen=True)
class Calibration:
    """P(right) = the isotonic map (`logits` -> `probabilities`, piecewise linear between the points) of the best
    candidate's logit plus `margin` times its lead over the next candidate (at most MARGIN_CAP); below `threshold` the
    answerer abstains. A reader nobody calibrated gets sigmoid(logit)."""

    logits: tuple[float, ...] = ()
    probabilities: tuple[float, ...] = ()
    threshold: float = DEFAULT_THRESHOLD
    runner_up: float = RUNNER_UP_RATIO
    margin: float = 0.0  # weight of the best candidate's lead over the next one (chosen on dev)
    fitted_on: dict[str, Any] = field(default_factory=dict)  # question set, sizes, the outcome on it

    def __post_init__(self) -> None:
        if len(self.logits) != len(self.probabilities):
            raise ConfigError(f"calibration has {len(self.logits)} logits but {len(self.probabilities)} probabilities")
        if any(b < a for a, b in zip(self.logits, self.logits[1:])):
            raise ConfigError("calibration logits must be in increasing order")
        if not 0.0 <= self.threshold <= 1.0 or not 0.0 <= self.runner_up <= 1.0:
            raise ConfigError(f"threshold and runner_up must be between 0 and 1, got {self.threshold}, {self.runner_up}")

    def probability(self, logits: float | np.ndarray, second: float | np.ndarray | None = None) -> np.ndarray:
        """P(right) of a best candidate with these logits (`second`: the next candidate's, for the lead)."""
        x = evidence(logits, second, self.margin)
        if not self.logits:
            return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))
        return np.interp(x, self.logits, self.probabilities)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        try:
            return cls(tuple(map(float, data.get("logits", ()))), tuple(map(float, data.get("probabilities", ()))),
                       float(data.get("threshold", DEFAULT_THRESHOLD)), float(data.get("runner_up", RUNNER_UP_RATIO)),
                       float(data.get("margin", 0.0)), dict(data.get("fitted_on", {})))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"cannot read a reader calibration: {exc}") from None

    def save(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> Calibration:
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read the reader calibration {path}: {exc}") from None


def evidence(logits: float | np.ndarray, second: float | np.ndarray | None, margin: float) -> np.ndarray:
    """The best logit plus `margin` times its lead over the next candidate's (none: no lead counted)."""
    x = np.asarray(logits, dtype=np.float64)
    if second is None or not margin:
        return x
    return x + margin * np.clip(x - np.asarray(second, dtype=np.float64), 0.0, MARGIN_CAP)


def fit_isotonic(logits: Sequence[float], right: Sequence[float], *, points: int = 40) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """An increasing map from logits to the share of right answers (isotonic regression), kept as at most `points`
    knots; the ends are held flat beyond the data."""
    from sklearn.isotonic import IsotonicRegression

    x = np.asarray(logits, dtype=np.float64)
    y = np.asarray(right, dtype=np.float64)
    if len(x) < 10:
        raise ConfigError(f"too few answers to calibrate on: {len(x)}")
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y)
    grid = np.unique(np.quantile(x, np.linspace(0.0, 1.0, points)))
    return tuple(round(float(v), 5) for v in grid), tuple(round(float(v), 5) for v in iso.predict(grid))


def choose_threshold(probability: Sequence[float], right_if_answered: Sequence[float], answerable: Sequence[bool],
                     precision: float | None = None) -> float:
    """The threshold that gets the most questions right: an answerable question answered right, or an unanswerable
    one abstained (`right_if_answered` is 1 where the best candidate is a right answer); with `precision`, the lowest
    threshold at which the answers given are right at least that often. Halfway between two neighbouring
    probabilities, so it does not sit on one question's."""
    if precision is not None and not 0.0 < precision < 1.0:
        raise ConfigError(f"precision must be between 0 and 1, got {precision}")
    p = np.asarray(probability, dtype=np.float64)
    ok = np.asarray(right_if_answered, dtype=np.float64) > 0
    can = np.asarray(answerable, dtype=bool)
    values = np.unique(p)
    cuts = np.r_[0.0, (values[:-1] + values[1:]) / 2, min(1.0, float(values[-1]) + 1e-6)] if len(values) else np.r_[DEFAULT_THRESHOLD]
    best, best_t = -1.0, DEFAULT_THRESHOLD
    for t in cuts:
        answered = p >= t
        if precision is not None:
            if answered.any() and float(np.mean(ok[answered])) >= precision:
                return round(float(t), 4)
            continue
        score = float(np.sum(answered & can & ok) + np.sum(~answered & ~can))
        if score > best:
            best, best_t = score, float(t)
    return round(best_t if precision is None else 1.0, 4)
