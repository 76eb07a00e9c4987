"""Big and deep inputs: an article over the size limit, huge records, invalid UTF-8, deep HTML, an oversized feed:
each is a clear message, memory stays bounded, and the rest of the file is still read."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

from fakes import FakeEncoder
from qa.cli import main
from qa.reading.sources import Cleaned, Failure, read_cleaned
from qa.stores import open_index

SENTENCE = "The quick brown fox jumps. "
ARTICLE = "The council approved the harbour budget on Monday after a long debate about the ferry. " * 3


def _ingest(capsys, *args: str) -> tuple[int, str]:
    rc = main(["ingest", *args, "--quiet"])
    return rc, capsys.readouterr().err


def test_one_line_article_over_the_limit_names_the_flag_and_fits_when_raised(tmp_path: Path, capsys) -> None:
    big = tmp_path / "big.txt"
    big.write_text(SENTENCE * 4000 + "\n", encoding="utf-8")  # 108 kB on one line
    index = tmp_path / "index"
    rc, err = _ingest(capsys, str(big), "--index", str(index), "--model", FakeEncoder.name, "--max-article-bytes", "50000")
    assert rc == 1
    assert "108,001 bytes, over the 50,000 bytes limit per article" in err and "--max-article-bytes" in err
    rc, err = _ingest(capsys, str(big), "--index", str(index), "--model", FakeEncoder.name, "--max-article-bytes", "200000")
    assert rc == 0 and "1 added" in err
    reader = open_index(index).reader()
    (article,) = reader.articles()
    assert article.text == (SENTENCE * 4000).strip()


def test_jsonl_with_invalid_utf8_and_a_huge_record_reads_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    with path.open("wb") as f:
        f.write(json.dumps({"id": "a", "text": ARTICLE}).encode() + b"\n")
        f.write(b'{"id": "b", "text": "caf\xe9 \xff\xfe"}\n')
        f.write(b'{"id": "c", "text": "' + b"x" * 20_000_000 + b'"}\n')  # 20 MB on one line, limit 100 kB
        f.write(json.dumps({"id": "d", "text": ARTICLE}).encode() + b"\n")
    tracemalloc.start()
    items = list(read_cleaned([str(path)], max_article_bytes=100_000))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [i.article.id for i in items if isinstance(i, Cleaned)] == ["a", "d"]
    failures = {f.source: f.reason for f in items if isinstance(f, Failure)}
    assert "not UTF-8 (byte 0xe9 at column 25)" in failures[f"{path}:2"]
    assert "over the 100,000 bytes limit" in failures[f"{path}:3"] and "--max-article-bytes" in failures[f"{path}:3"]
    assert peak < 4_000_000, f"reading held {peak:,} bytes at once"


def test_csv_with_a_huge_field_keeps_the_rows_before_it(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    with path.open("wb") as f:
        f.write(b"id,text\n")
        f.write(f'a,"{ARTICLE}"\n'.encode())
        f.write(b'b,"' + b"word " * 4_000_000 + b'"\n')  # a 20 MB field
        f.write(f'c,"{ARTICLE}"\n'.encode())
    tracemalloc.start()
    items = list(read_cleaned([str(path)], max_article_bytes=100_000))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert isinstance(items[0], Cleaned) and items[0].article.id == "a"
    assert isinstance(items[-1], Failure) and "--max-article-bytes" in items[-1].reason and ":3" in items[-1].source
    assert peak < 4_000_000, f"reading held {peak:,} bytes at once"


def test_a_record_over_the_limit_in_csv_is_one_failure(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(f'id,text\na,"{ARTICLE}"\nb,"{"word " * 30_000}"\nc,"{ARTICLE}"\n', encoding="utf-8")
    items = list(read_cleaned([str(path)], max_article_bytes=100_000))
    assert [type(i).__name__ for i in items] == ["Cleaned", "Failure", "Cleaned"]
    assert "150,001 bytes" in items[1].reason or "150,000 bytes" in items[1].reason


def test_deeply_nested_html_and_an_oversized_feed_are_clear_failures(tmp_path: Path) -> None:
    nested = tmp_path / "nested.html"
    nested.write_text("<html><body>" + "<div>" * 20_000 + f"<p>{ARTICLE}</p>" + "</div>" * 20_000 + "</body></html>")
    feed = tmp_path / "huge.rss"
    with feed.open("wb") as f:
        f.write(b"<?xml version='1.0'?><rss version='2.0'><channel><title>c</title>")
        f.truncate(40_000_000)  # sparse: its size is what is refused, before anything is parsed
    items = list(read_cleaned([str(nested), str(feed)]))
    assert all(isinstance(i, Failure) for i in items) and len(items) == 2
    assert "no main text" in items[0].reason or items[0].reason
    assert "feed is 40.0 MB, over the 32 MB limit" in items[1].reason
