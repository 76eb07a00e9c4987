"""Checks each sentence of a written answer against the passages: the index's embedding model plus word overlap,
combined by a small calibrated model, and attribution of a sentence to the passage that supports it."""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from qa import config
from qa.answerers.features import content_terms
from qa.answerers.prompt import Passage
from qa.answerers.sentence_cache import unit
from qa.reading.chunking import split_sentences
from qa.errors import ConfigError

log = logging.getLogger(__name__)

FEATURES: tuple[str, ...] = (
    "cos",  # cosine of the claim to the passage's closest sentence (or pair of adjacent sentences)
    "novel_recall",  # share of the claim's own words (those not in the question) found in that sentence
    "recall",  # share of all the claim's words found in that sentence
    "passage_recall",  # share of the claim's own words found anywhere in the passage
    "unmatched_numbers",  # numbers in the claim the passage never states
    "unmatched_names",  # capitalised names in the claim the passage never mentions
    "negation_mismatch",  # the claim negates ("not", "never", "no") where that sentence does not, or the reverse
    "pair",  # that best match is two adjacent sentences, not one (where claims get conflated)
)
_NEGATION = re.compile(r"\b(?:not|no|never|neither|nor|none|nobody|nothing|without)\b|n't\b", re.I)
MODEL_DIR = Path(__file__).parent / "support_models"
MIN_WORDS = 2  # content words a sentence needs to claim anything
# A sentence about what the articles do not say ("The passage doesn't mention ...") is never supported by them.
NOT_SAID = re.compile(
    r"\b(?:articles?|passages?|sources?|texts?|context)\b[^.]*\b(?:don't|do not|doesn't|does not|didn't|did not|cannot|can't)\b"
    r"[^.]*\b(?:say|mention|cover|provide|contain|state|answer|specify|include|tell|give)|\bno (?:information|mention)\b|"
    r"\bnot (?:possible|clear) to (?:determine|say|tell)\b|\bnot (?:mentioned|provided|specified|stated|given)\b",
    re.I,
)
DEFAULT_MODEL = config.MODEL  # the encoder the packaged support model was fitted for
# Words that say where a claim comes from rather than what it claims ("The article says that ...").
_META = frozenset(content_terms(
    "answer answers article articles passage passages text source sources question questions according state states "
    "stated mention mentions mentioned report reports reported provide provides provided information say says"
))
# A sentence of an article that speaks to the model (a prompt injection) is never evidence for anything.
_INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.!?\n]{0,40}\b(?:instructions?|prompts?|rules|messages?|above|previous|prior)\b|"
    r"\b(?:answer|reply|respond|say|output|print|write)\s+(?:only|just|with only|nothing but)\b|"
    r"\byou are now\b|\byou (?:must|should|shall|will|have to|need to) (?:reply|respond|answer|say|write|output|ignore)\b|"
    r"\b(?:reply|respond|answer)\b[^.!?\n]{0,30}\bto (?:every|all|any) (?:questions?|messages?|prompts?)\b|"
    r"\bnew instructions?\b|\bsystem prompt\b|\bas an ai\b|\blanguage model\b|<\|[a-z_]{2,20}\|>|\[/?INST\]",
    re.I,
)
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_NUMBER_WORDS.update({"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80",
                      "ninety": "90", "hundred": "100", "thousand": "1000", "dozen": "12"})
_STEMMED_NUMBERS = {next(iter(content_terms(w))): d for w, d in _NUMBER_WORDS.items() if content_terms(w)}
_DIGITS = re.compile(r"\d+(?:[,.]\d+)*")
_WORD = re.compile(r"[A-Za-z]+")
_NAME = re.compile(r"\b[A-Z][a-z]+(?:[-'][A-Za-z]+)*\b|\b[A-Z]{2,}\b")
_SENTENCE_OPENERS = frozenset("the a an he she it they we this that these those his her its their in on at as after "
                              "but and so if when while there here yes no according both".split())

VectorFn = Callable[[Sequence[str], Sequence[str]], tuple[np.ndarray, np.ndarray]]  # (queries, sentences) -> vectors


@dataclass(frozen=True)
class SupportModel:
    """A logistic model over FEATURES: the probability that a passage supports a claim; `threshold` decides."""

    encoder: str
    weights: dict[str, float]
    bias: float
    threshold: float
    source: str = "hand-set"  # what it was fitted on
    report: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if set(self.weights) != set(FEATURES):
            raise ConfigError(f"a support model needs weights for {', '.join(FEATURES)}, got {sorted(self.weights)}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"support threshold must be between 0 and 1, got {self.threshold}")

    def probability(self, features: dict[str, float]) -> float:
        z = self.bias + sum(self.weights[f] * features[f] for f in FEATURES)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path) -> SupportModel:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(f"cannot read the support model {path}: {exc}") from None


def model_path(encoder: str) -> Path:
    return MODEL_DIR / (re.sub(r"[^A-Za-z0-9]+", "-", encoder).strip("-") + ".json")


def load_support_model(encoder: str) -> SupportModel:
    """The support model fitted for this embedding model; the default model's (with a warning) for another."""
    path = model_path(encoder)
    if path.exists():
        return SupportModel.load(path)
    log.warning("no support model fitted for %s; using the one fitted for %s (cosines differ between models)",
                encoder, DEFAULT_MODEL)
    return SupportModel.load(model_path(DEFAULT_MODEL))


def numbers(text: str) -> set[str]:
    """Numbers in digits or small number words, normalised: "1,835" -> "1835", "five" -> "5"."""
    found = {m.group().replace(",", "").rstrip(".") for m in _DIGITS.finditer(text)}
    return found | {_NUMBER_WORDS[w] for w in _WORD.findall(text.lower()) if w in _NUMBER_WORDS}


def names(text: str) -> set[str]:
    """Capitalised words of a sentence that are names, lower-cased (a capitalised sentence opener is not one)."""
    out = set()
    for m in _NAME.finditer(text):
        word = m.group()
        before = text[: m.start()].rstrip()
        opener = not before or before[-1] in ".!?:\"'“‘(-\n"
        if opener and word.lower() in _SENTENCE_OPENERS:
            continue
        word = re.sub(r"['’]s$", "", word).lower()
        if word not in _META:
            out.add(word)
    return out


def terms(text: str) -> frozenset[str]:
    """The content words of a text as the check compares them: stemmed, small number words as digits."""
    return frozenset(_STEMMED_NUMBERS.get(t, t) for t in content_terms(re.sub(r"(?<=\d),(?=\d)", "", text)))


def found(term: str, pool: frozenset[str]) -> bool:
    """Whether a claim's word is in a sentence's words, allowing a short ending ("Kenya" / "Kenyan")."""
    if term in pool:
        return True
    if len(term) < 4 or term.isdigit():
        return False
    return any(len(w) >= 4 and abs(len(w) - len(term)) <= 3 and (w.startswith(term) or term.startswith(w)) for w in pool)


def recall(wanted: set[str] | frozenset[str], pool: frozenset[str]) -> float:
    return sum(found(t, pool) for t in wanted) / len(wanted) if wanted else 0.0


def is_injection(sentence: str) -> bool:
    """Whether an article sentence addresses the model ("Ignore all previous instructions...")."""
    return bool(_INJECTION.search(sentence))


@dataclass(frozen=True)
class Unit:
    """A sentence of a passage, or two adjacent ones, that may support a claim; offsets inside the passage text."""

    start: int
    end: int
    text: str
    terms: frozenset[str]
    pair: bool = False


@dataclass(frozen=True)
class Evidence:
    """How well one passage supports a claim, through its best unit."""

    number: int  # the passage's marker
    probability: float
    features: dict[str, float]
    start: int  # the supporting unit inside the passage text
    end: int


@dataclass(frozen=True)
class Verdict:
    """A claim checked: the passages that support it (markers), the best evidence of each, and the best overall."""

    supported: bool
    support: float
    markers: tuple[int, ...]
    evidence: tuple[Evidence, ...]  # one per marker, in marker order
    best: Evidence | None  # the best passage whether or not it passes (for calibration and reporting)


class SupportChecker:
    """Checks claims against one prompt's passages; `vectors` encodes (claims, sentences), caching the sentences."""

    def __init__(self, passages: Sequence[Passage], vectors: VectorFn, model: SupportModel,
                 threshold: float | None = None) -> None:
        self.passages = {p.number: p for p in passages}
        self.model = model
        self.threshold = model.threshold if threshold is None else threshold
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"support_threshold must be between 0 and 1, got {self.threshold}")
        self._vectors = vectors
        self._units: dict[int, list[Unit]] = {}
        self._unit_vectors: dict[int, np.ndarray] = {}
        self._passage_terms = {p.number: terms(p.text) | terms(p.title) for p in passages}
        self._passage_numbers = {p.number: numbers(p.text) | numbers(p.title) for p in passages}
        self._passage_text = {p.number: f"{p.title}\n{p.text}".lower() for p in passages}

    def check(self, claim: str, question: str, cited: Sequence[int] = ()) -> Verdict:
        """The claim's support: the cited passages that support it; if none does, the passage that does
        (attribution after the fact); unsupported when no passage reaches the threshold."""
        self._prepare()
        words = set(terms(claim)) - _META
        novel = words - terms(question) or words
        claim_numbers, claim_names = numbers(claim), names(claim)
        (vector,), _ = self._vectors([claim], [])
        vector = unit(vector)
        scored = [self._evidence(n, claim, vector, words, novel, claim_numbers, claim_names) for n in self.passages]
        scored = [e for e in scored if e is not None]
        if len(words) < MIN_WORDS or claim.rstrip().endswith("?") or NOT_SAID.search(claim) or not scored:
            # no claim ("Yes.", "PWNED."), a question back, or a claim about what the articles do not say
            return Verdict(False, 0.0, (), (), max(scored, key=lambda e: e.probability, default=None))
        best = max(scored, key=lambda e: (e.probability, -e.number))
        passing = {e.number: e for e in scored if e.probability >= self.threshold}
        chosen = [passing[n] for n in dict.fromkeys(cited) if n in passing]
        if not chosen and best.number in passing:
            chosen = [best]
        chosen.sort(key=lambda e: e.number)
        support = max((e.probability for e in chosen), default=best.probability)
        return Verdict(bool(chosen), round(support, 4), tuple(e.number for e in chosen), tuple(chosen), best)

    def _evidence(self, number: int, claim_text: str, vector: np.ndarray, words: set[str], novel: set[str],
                  claim_numbers: set[str], claim_names: set[str]) -> Evidence | None:
        units = self._units[number]
        if not units:
            return None
        cosines = self._unit_vectors[number] @ vector
        best_i, best_key, best_features = 0, -1e9, {}
        negated = bool(_NEGATION.search(claim_text))
        for i, u in enumerate(units):
            novel_recall = recall(novel, u.terms)
            key = float(cosines[i]) + novel_recall
            if key > best_key:
                best_i, best_key = i, key
                best_features = {"cos": float(cosines[i]), "novel_recall": novel_recall, "recall": recall(words, u.terms),
                                 "negation_mismatch": float(negated != bool(_NEGATION.search(u.text))), "pair": float(u.pair)}
        text = self._passage_text[number]
        features = {
            **best_features,
            "passage_recall": recall(novel, self._passage_terms[number]),
            "unmatched_numbers": float(len(claim_numbers - self._passage_numbers[number])),
            "unmatched_names": float(sum(1 for name in claim_names if not re.search(rf"\b{re.escape(name[:-1] if len(name) > 4 else name)}", text))),
        }
        u = units[best_i]
        return Evidence(number, self.model.probability(features), features, u.start, u.end)

    def _prepare(self) -> None:
        """Split the passages into units and encode them, once per prompt (sentences come from the cache)."""
        if self._units:
            return
        sentences: list[str] = []
        for number, p in self.passages.items():
            spans = [(a, b) for a, b in split_sentences(p.text) if not is_injection(p.text[a:b])]
            units = [Unit(a, b, p.text[a:b], terms(p.text[a:b])) for a, b in spans]
            sentences += [u.text for u in units]
            for (a, _), (_, b) in zip(spans, spans[1:]):  # adjacent pairs: a claim may join two sentences
                if not is_injection(p.text[a:b]):
                    units.append(Unit(a, b, p.text[a:b], terms(p.text[a:b]), pair=True))
            self._units[number] = units
        _, vectors = self._vectors([], sentences)
        by_text = {t: unit(v) for t, v in zip(sentences, vectors)}
        for number, units in self._units.items():
            text = self.passages[number].text
            rows = [by_text[u.text] if not u.pair else
                    unit(by_text[text[u.start : _first_end(units, u)]] + by_text[text[_last_start(units, u) : u.end]])
                    for u in units]
            self._unit_vectors[number] = np.stack(rows) if rows else np.zeros((0, 1), np.float32)


def _first_end(units: list[Unit], pair: Unit) -> int:
    return next(u.end for u in units if not u.pair and u.start == pair.start)


def _last_start(units: list[Unit], pair: Unit) -> int:
    return next(u.start for u in units if not u.pair and u.end == pair.end)
