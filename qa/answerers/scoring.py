"""The answer-scoring model: a logistic regression over candidate features, calibrated to P(the answer is right)."""

from __future__ import annotations

import json
import logging
import math
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from qa.answerers.candidates import FEATURES
from qa.errors import ConfigError

log = logging.getLogger(__name__)

PACKAGED = Path(__file__).with_name("models")  # fitted models shipped with the package, one per embedding model
INDEX_DIR = "answer-models"  # <index>/answer-models/<model>.json: fitted for that index by `qa calibrate`
FORMAT = 1


@dataclass(frozen=True)
class ScoringModel:
    """Candidate scores `sigmoid(w . standardised(x) + b)`; the best candidate's score, Platt-calibrated, is the
    probability that the answer is right, and `threshold` the probability below which the answerer abstains."""

    encoder: str  # the embedding model whose cosines it was fitted on
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    calibration: tuple[float, float] = (1.0, 0.0)  # P(right) = sigmoid(a * logit(best score) + b)
    threshold: float = 0.5
    target_precision: float = 0.9  # the threshold is the lowest whose answers were right this often on dev
    fitted_on: dict[str, Any] = field(default_factory=dict)  # question set, sizes, cross-validated metrics
    format: int = FORMAT
    # P(right) from several signals of the question's best candidate (QUESTION_FEATURES), a logistic regression
    # {"mean", "scale", "weights", "bias"}; empty: the Platt `calibration` of the best score alone (older models)
    calibrator: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.features)
        if not (len(self.mean) == len(self.scale) == len(self.weights) == n):
            raise ConfigError(f"scoring model for {self.encoder}: {n} features but {len(self.weights)} weights")
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"scoring model threshold must be between 0 and 1, got {self.threshold}")

    def scores(self, matrix: np.ndarray) -> np.ndarray:
        """Each candidate's score in (0, 1): how likely it holds the answer, before calibration."""
        if matrix.shape[1] != len(FEATURES):
            raise ConfigError(f"expected {len(FEATURES)} features, got {matrix.shape[1]}")
        x = self._columns(matrix)
        z = ((x - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.weights) + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def probability(self, score: float, row: np.ndarray | None = None, runner_up: float = 0.0) -> float:
        """The calibrated probability that the answer is right: from its candidate's score, its feature `row`
        (a FEATURES row) and the next best candidate's score, by the question-level calibrator when the model
        has one, else by Platt scaling of the score alone."""
        if self.calibrator and row is not None:
            c = self.calibrator
            x = question_features(score, runner_up, row, c["features"][2:])
            z = float(((x - np.asarray(c["mean"])) / np.asarray(c["scale"])) @ np.asarray(c["weights"]) + c["bias"])
            return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
        a, b = self.calibration
        return 1.0 / (1.0 + math.exp(-(a * _logit(score) + b)))

    def _columns(self, matrix: np.ndarray) -> np.ndarray:
        """The model's features out of the full FEATURES matrix (a model may use a subset, in any order)."""
        if self.features == FEATURES:
            return matrix
        index = {name: i for i, name in enumerate(FEATURES)}
        missing = [f for f in self.features if f not in index]
        if missing:
            raise ConfigError(f"scoring model for {self.encoder} uses unknown features: {', '.join(missing)}")
        return matrix[:, [index[f] for f in self.features]]

    def save(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> ScoringModel:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise ConfigError(f"scoring model {path} has format {data.get('format')}, this version reads {FORMAT}")
            for key in ("features", "mean", "scale", "weights", "calibration"):
                data[key] = tuple(data[key])
            calibrator = data.get("calibrator") or {}
            if calibrator and (set(calibrator["features"][2:]) - set(FEATURES) or len(calibrator["weights"]) != len(calibrator["features"])):
                raise ConfigError(f"its calibrator reads features this version does not give: {calibrator['features']}")
            return cls(**data)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise ConfigError(f"cannot read the scoring model {path}: {exc}") from None


# What the question-level calibrator reads: the best score, its margin over the runner-up, and evidence of the best
# candidate that does not depend on how many articles the index holds (no ranks, no retrieval scores), nor on how
# the question is typed alone (casual, follow-up: in a question set those say which questions the writers made
# answerable, not whether this answer is right).
QUESTION_FEATURES: tuple[str, ...] = (
    "cos_question", "missing_names", "unmet_numbers", "type_missing", "name_overlap",
    "maxsim_query", "maxsim_question", "maxsim_query_gap", "maxsim_question_gap", "entity_new", "entity_missing",
    "year_match", "year_conflict",
)


def question_features(score: float, runner_up: float, row: np.ndarray, names: Sequence[str] = QUESTION_FEATURES) -> np.ndarray:
    """The calibrator's input for a question: logit of the best score, its margin over the runner-up's, then
    the features `names` (by default QUESTION_FEATURES) of the best candidate's row."""
    best = _logit(score)
    columns = [FEATURES.index(f) for f in names]
    return np.r_[best, best - (_logit(runner_up) if runner_up > 0 else -14.0), np.asarray(row, dtype=np.float64)[columns]]


def _logit(p: float) -> float:
    p = min(max(float(p), 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def model_file(encoder_name: str, directory: str | os.PathLike[str] = PACKAGED) -> Path:
    return Path(directory) / f"{slug(encoder_name)}.json"


def load_scoring_model(encoder_name: str, index_location: str | os.PathLike[str] | None = None) -> ScoringModel:
    """The model fitted for this embedding model: the index's own (`qa calibrate`), else the packaged one; for
    an embedding model nobody fitted, the packaged default with a warning (its cosines are on another scale)."""
    from qa.stores import side_folder

    folder = side_folder(index_location) if index_location is not None else None
    candidates = [model_file(encoder_name, folder / INDEX_DIR)] if folder is not None else []
    candidates.append(model_file(encoder_name))
    for path in candidates:
        if path.exists():
            return ScoringModel.read(path)
    from qa.config import MODEL as DEFAULT_MODEL

    log.warning(
        "no answer-scoring model was fitted for the embedding model %s; using the one fitted for %s, so abstention "
        "may be off (fit one on your own questions with `qa calibrate QUESTIONS --index DIR`)", encoder_name, DEFAULT_MODEL,
    )
    return ScoringModel.read(model_file(DEFAULT_MODEL))


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")
