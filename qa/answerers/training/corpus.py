"""The index the reader is trained and measured on: NewsArticles plus the question set's scraped pages."""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace
from pathlib import Path

log = logging.getLogger(__name__)

PAGE_FOLDERS = ("pages", "train-pages")  # under the question set's folder: dev/test pages, training pages
MANIFEST = "manifest.json"


def page_files(questions_dir: Path) -> list[Path]:
    return [p for folder in PAGE_FOLDERS for p in sorted((questions_dir / folder).glob("*.txt"))]


def build_index(index: Path, questions_dir: Path, *, source: Path | None = None, progress: bool = True) -> str:
    """NewsArticles (copied from `source` when given, else ingested from the demo corpus, about 5 minutes on 2 cores)
    plus every page of the question set, each as `page-<stem>`; an index already there only gets its pages
    updated. Returns ingest's summary of the pages."""
    from qa.reading.demo import demo_articles
    from qa.ingest import ingest
    from qa.reading.sources import read_sources

    if not (index / MANIFEST).exists():
        if source is not None:
            shutil.copytree(source, index, ignore=shutil.ignore_patterns(".lock", "sentence-cache", "answer-models"))
        else:
            log.warning("building the NewsArticles index in %s (about 5 minutes on 2 cores)", index)
            ingest(demo_articles("NewsArticles"), index, progress=progress)
    pages = []
    for path in page_files(questions_dir):
        pages += [replace(a, id=f"page-{path.stem}") for a in read_sources([str(path)])]
    return ingest(pages, index).summary()
