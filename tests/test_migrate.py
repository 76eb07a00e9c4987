"""Indexes of the one-generation format (1) keep working: `qa migrate`, `qa ingest` or opening them upgrades in place."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import faiss
import numpy as np
import pytest

from fakes import FakeEncoder
from qa.errors import StoreError
from qa.ingest import embed_text, ingest
from qa.reading.chunking import ChunkSettings, chunk_article
from qa.retrieval import Retriever
from qa.stores import open_index
from qa.types import Article

HERE = Path(__file__).resolve().parent
ARTICLES = [
    Article("ferry", "The harbour ferry runs every hour. Tickets cost two euros for adults.", title="Ferry timetable",
            url="https://quay.example/ferry", published="2024-03-01", source="quay.example"),
    Article("cup", "The striker scored twice as the home side won the cup final in extra time.", title="Cup final"),
    Article("flood", "Flood water closed the harbour road on Monday. The ferry was cancelled.", title="Flood"),
]
V1_SCHEMA = """
CREATE TABLE articles (id TEXT PRIMARY KEY, title TEXT, url TEXT, published TEXT, source TEXT, author TEXT,
    text TEXT NOT NULL, hash TEXT NOT NULL, added REAL NOT NULL);
CREATE TABLE chunks (id INTEGER PRIMARY KEY, article_id TEXT NOT NULL REFERENCES articles(id),
    idx INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL);
"""


def make_v1(root: Path, articles=ARTICLES) -> dict[str, np.ndarray]:
    """An index as the one-generation store wrote it (manifest, gen-000003/ with SQLite and FAISS); its vectors."""
    encoder = FakeEncoder()
    gen = root / "gen-000003"
    gen.mkdir(parents=True)
    db = sqlite3.connect(gen / "store.sqlite")
    db.executescript(V1_SCHEMA)
    vectors = faiss.IndexIDMap2(faiss.IndexFlatIP(encoder.dimension))
    by_text = {}
    for n, a in enumerate(articles):
        db.execute("INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (a.id, a.title, a.url, a.published, a.source, a.author, a.text, a.content_hash, 1000.0 + n))
        for c in chunk_article(a, encoder.count_tokens, ChunkSettings()):
            chunk_id = db.execute('INSERT INTO chunks (article_id, idx, start, "end") VALUES (?, ?, ?, ?)',
                                  (a.id, c.index, c.start, c.end)).lastrowid
            vector = encoder.encode([embed_text(a, c)])
            vectors.add_with_ids(vector, np.array([chunk_id], dtype=np.int64))
            by_text[f"{a.id}:{c.index}"] = vector[0]
    db.commit()
    db.close()
    faiss.write_index(vectors, str(gen / "vectors.faiss"))
    manifest = {"backend": "torch", "chunking": asdict(ChunkSettings()), "dimension": encoder.dimension, "embed_title": True,
                "format_version": 1, "generation": 3, "model": encoder.name, "normalized": True}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return by_text


def test_qa_migrate_upgrades_in_place_and_keeps_the_vectors(tmp_path: Path):
    index = tmp_path / "old"
    vectors = make_v1(index)
    run = [sys.executable, str(HERE / "fake_cli.py"), "--index", str(index), "migrate"]
    result = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "has format 1: migrating it to format 2" in result.stderr and "migrated" in result.stderr
    assert json.loads((index / "manifest.json").read_text())["format_version"] == 2
    assert not list(index.glob("gen-*"))
    reader = open_index(index).reader()
    assert [a.id for a in reader.articles()] == ["ferry", "cup", "flood"]  # the order they were added
    assert reader.article("ferry") == ARTICLES[0]
    for chunk_id, article_id, _, _ in reader.iter_chunks():
        index_in_article = reader.chunks([chunk_id])[chunk_id].chunk.index
        assert np.array_equal(reader.vectors([chunk_id])[0], vectors[f"{article_id}:{index_in_article}"])
    hits = Retriever.load(index).search("ferry tickets euros", 1)  # the fake, by the model named in the manifest
    assert hits[0].article_id == "ferry"
    again = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "already in the current format" in again.stderr


def test_ingest_and_search_on_an_old_index_migrate_it_with_a_message(tmp_path: Path, caplog):
    index = tmp_path / "old"
    make_v1(index)
    with caplog.at_level(logging.WARNING, logger="qa"):
        report = ingest([Article("new", "A new article about the river bridge.")], index, encoder=FakeEncoder())
    assert report.added == ["new"] and "migrating it to format 2" in caplog.text
    assert {a.id for a in open_index(index).reader().articles()} == {"ferry", "cup", "flood", "new"}
    other = tmp_path / "other"
    make_v1(other)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="qa"):
        assert Retriever.load(other, encoder=FakeEncoder()).search("striker cup", 1)[0].article_id == "cup"
    assert "migrating it to format 2" in caplog.text


def test_a_failed_migration_leaves_the_old_index_as_it_was(tmp_path: Path):
    index = tmp_path / "old"
    make_v1(index)
    gen = index / "gen-000003"
    vectors = faiss.read_index(str(gen / "vectors.faiss"))
    vectors.remove_ids(np.array([2], dtype=np.int64))  # a chunk without its vector
    faiss.write_index(vectors, str(gen / "vectors.faiss"))
    before = {p.name: p.read_bytes() for p in [index / "manifest.json", gen / "store.sqlite", gen / "vectors.faiss"]}
    with pytest.raises(StoreError, match="chunk 2 of cup has no vector"):
        open_index(index).upgrade()
    after = {p.name: p.read_bytes() for p in [index / "manifest.json", gen / "store.sqlite", gen / "vectors.faiss"]}
    assert after == before and not (index / "catalog.sqlite").exists() and not (index / "segments").exists()


def test_an_unknown_format_is_a_clear_error(tmp_path: Path):
    index = tmp_path / "future"
    index.mkdir()
    (index / "manifest.json").write_text(json.dumps({"model": "m", "dimension": 3, "chunking": {}, "format_version": 9}))
    with pytest.raises(StoreError, match="format version 9; this version of article-qa reads version 2"):
        open_index(index).reader()
