"""`qa check` and damaged index files: a flipped byte in a segment, a truncated one, a damaged catalog, a broken
manifest each give an error naming the file and `qa check`, never a traceback or wrong answers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from fakes import FakeEncoder
from qa.cli import main
from qa.errors import StoreError
from qa.ingest import ingest
from qa.retrieval import Retriever
from qa.stores.local.arrays import array_offset
from qa.types import Article

TOPICS = ["harbour ferry budget", "volcano ash evacuation", "mayor election turnout", "river flood barrier"]


@pytest.fixture
def index(tmp_path: Path) -> Path:
    root = tmp_path / "index"
    articles = [Article(f"a{i}", f"The {t} story number {i}. " * 40, title=t) for i, t in enumerate(TOPICS * 5)]
    ingest(articles[:10], root, encoder=FakeEncoder())
    ingest(articles[10:], root, encoder=FakeEncoder())  # two segments
    return root


def _check(capsys, root: Path) -> tuple[int, str]:
    rc = main(["check", "--index", str(root)])
    out = capsys.readouterr()
    return rc, out.out + out.err


def _search(root: Path) -> list[str]:
    retriever = Retriever.load(root, encoder=FakeEncoder(), auto_refresh=False)
    return [h.article_id for h in retriever.search("volcano ash evacuation", k=3)]


def test_a_sound_index_checks_ok(index: Path, capsys) -> None:
    rc, out = _check(capsys, index)
    assert rc == 0 and "ok:" in out and "20 articles" in out


def test_a_flipped_byte_in_a_segment_is_found_and_refused(index: Path, capsys) -> None:
    segment = sorted((index / "segments").glob("*.seg"))[0]
    data = bytearray(segment.read_bytes())
    at = array_offset(segment, "vectors") + 100
    data[at] ^= 0x40  # one bit of one vector: without checksums a silently different ranking
    segment.write_bytes(bytes(data))
    rc, out = _check(capsys, index)
    assert rc == 1 and f"damaged: {segment}" in out and "'vectors' does not match its checksum" in out
    with pytest.raises(StoreError, match=rf"{segment.name}.*damaged.*qa check"):
        _search(index)


def test_a_truncated_segment_and_a_missing_one(index: Path, capsys) -> None:
    first, second = sorted((index / "segments").glob("*.seg"))
    first.write_bytes(first.read_bytes()[: first.stat().st_size // 2])
    second.unlink()
    rc, out = _check(capsys, index)
    assert rc == 1 and "truncated" in out and f"{first.name}" in out and f"{second.name}: missing" in out
    with pytest.raises(StoreError, match=rf"{first.name}.*qa check"):
        _search(index)


def test_a_damaged_catalog_names_the_file_and_qa_check(index: Path, capsys) -> None:
    catalog = index / "catalog.sqlite"
    assert not (index / "catalog.sqlite-wal").exists() or (index / "catalog.sqlite-wal").stat().st_size == 0
    with sqlite3.connect(catalog) as db:
        page = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'articles'").fetchone()[0]
        size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    data = bytearray(catalog.read_bytes())
    data[(page - 1) * size : page * size] = b"\xa5" * size  # the articles table's root page
    catalog.write_bytes(bytes(data))
    rc, out = _check(capsys, index)
    assert rc == 1 and "damaged:" in out and "catalog.sqlite" in out
    with pytest.raises(StoreError, match=r"catalog.*qa check"):
        _search(index)


def test_a_broken_manifest(index: Path, capsys) -> None:
    (index / "manifest.json").write_text('{"model": ', encoding="utf-8")
    rc, out = _check(capsys, index)
    assert rc == 1 and "manifest.json" in out
    with pytest.raises(StoreError, match="manifest.json"):
        _search(index)
