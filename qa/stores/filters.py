"""SearchFilter compiled for the local catalog: an SQL condition over the articles table (`a`)."""

from __future__ import annotations

import re
import sqlite3
from typing import Any
from urllib.parse import urlsplit

from qa.stores.local.catalog import LIVE
from qa.types import SearchFilter


def compile_filter(db: sqlite3.Connection, flt: SearchFilter, version: int) -> tuple[str, dict[str, Any]]:
    """(condition, named parameters) selecting the articles live at `version` that pass the filter."""
    clauses, params = [LIVE], {"v": version}
    if flt.sources:
        parts = []
        for i, source in enumerate(flt.sources):
            parts.append(f"a.source = :s{i} OR a.url LIKE :u{i}")
            params[f"s{i}"], params[f"u{i}"] = source, f"%://{source}/%"
        clauses.append("(" + " OR ".join(parts) + ")")
    if flt.since:
        clauses.append("a.published != '' AND a.published >= :since")
        params["since"] = flt.since
    if flt.until:
        clauses.append("a.published != '' AND a.published <= :until")
        params["until"] = flt.until
    if flt.article_ids:  # ids or URLs (a URL may differ in scheme, "www.", fragment or trailing slash)
        ids = resolve_many(db, flt.article_ids, version)
        names = [f"a{i}" for i in range(len(ids))]
        clauses.append(f"a.id IN ({','.join(':' + n for n in names)})" if ids else "0")
        params.update(zip(names, ids))
    return " AND ".join(clauses), params


def resolve_many(db: sqlite3.Connection, keys: tuple[str, ...] | list[str], version: int) -> list[str]:
    """Article ids for ids or URLs; ids that exist are taken as they are (one query for all of them)."""
    marks = ",".join("?" * len(keys))
    found = {r[0] for r in db.execute(
        f"SELECT a.id FROM articles a WHERE a.id IN ({marks}) AND a.born <= ? AND (a.died IS NULL OR a.died > ?)",
        (*keys, version, version))}
    out = []
    for key in keys:
        article_id = key if key in found else resolve(db, key, version)
        if article_id is not None:
            out.append(article_id)
    return out


def resolve(db: sqlite3.Connection, id_or_url: str, version: int) -> str | None:
    """An article id from an id or a URL: an exact id wins, then an exact URL, then the same page's URL."""
    live = LIVE
    row = db.execute(
        f"SELECT a.id FROM articles a WHERE (a.id = :k OR a.url = :k) AND {live} ORDER BY a.id = :k DESC, a.id LIMIT 1",
        {"k": id_or_url, "v": version}).fetchone()
    if row or not re.match(r"https?://", id_or_url.strip(), re.I):
        return row[0] if row else None
    key = same_url_key(id_or_url)
    rows = db.execute(f"SELECT a.id, a.url FROM articles a WHERE a.url LIKE :p AND {live} ORDER BY a.id",
                      {"p": f"%{key.split('/', 1)[0]}%", "v": version}).fetchall()
    return next((article_id for article_id, url in rows if same_url_key(url) == key), None)


def same_url_key(url: str) -> str:
    """A URL reduced to what names the page: no scheme, "www.", fragment or trailing slash; host lower-cased."""
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}" + (f"?{parts.query}" if parts.query else "")
