"""Hostile input, property-based: every reader, the cleaner, the chunker and the parsers either work or raise a QAError.

Bounded example counts keep the file well under a minute; `HYPOTHESIS_PROFILE=deep` tries many more
(the counts tried are in docs/reliability.md).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes import FakeEncoder
from qa.answerers.extractive import check_question
from qa.errors import QAError
from qa.evaluation import read_questions
from qa.reading.chunking import ChunkSettings, chunk_article, split_sentences
from qa.reading.clean import CLEAN_MODES, clean_scraped, html_to_text
from qa.reading.sources import Cleaned, Failure, read_cleaned
from qa.types import Article

settings.register_profile("hostile", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
PROFILE = "deep" if os.environ.get("HYPOTHESIS_PROFILE") == "deep" else "hostile"
hostile = settings.get_profile(PROFILE)

# Pieces that make text look like articles and pages, and the characters that break naive code.
WORDS = [
    "The", "minister", "said", "Dr.", "U.S.", "e.g.", "John", "F.", "Kennedy", "rejected", "it", "on", "Jan.", "5",
    "\u00a0", "\u200b", "\ufeff", "\ud800", "\udfff", "\x00", "\x0b", "\r\n", "\r", "\n", "\n\n\n", "\t", "...", "!", "?", ".", "\u2026",
    "\u201cquoted\u201d", "By", "Reuters", "2024-01-05", "Published", "Advertisement", "Share", "Latest stories",
    "<p>", "</p>", "<script>alert(1)</script>", "&amp;", "&#0;", "&#xd800;", "\u0301", "\u05d0\u05d1", "\U0001f600",
    "e\u0301", "\u2028", "\u2029", "#", "-", "|", ":", "\\", '"', ",",
]
texty = st.one_of(
    st.text(max_size=400),
    st.lists(st.sampled_from(WORDS) | st.text(max_size=12), max_size=120).map(" ".join),
    st.lists(st.sampled_from(WORDS), max_size=200).map("".join),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | texty,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
record_keys = st.sampled_from(["id", "title", "url", "published", "source", "author", "text", "clean", "extra"])
records = st.dictionaries(record_keys, json_values | texty, max_size=8)


def _assert_items(items: list[object]) -> None:
    for item in items:
        assert isinstance(item, (Cleaned, Failure)), item
        if isinstance(item, Failure):
            assert item.reason.strip()
        else:
            assert item.article.text.strip() and item.article.id


def _read(data: bytes, suffix: str) -> list[object]:
    """Every item read from a file holding `data`: an Article or a Failure each, or a QAError with a message."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"input{suffix}"
        path.write_bytes(data)
        try:
            items = list(read_cleaned([str(path)]))
        except QAError as exc:
            assert str(exc).strip()
            return []
    _assert_items(items)
    return items


@hostile
@given(texty, st.sampled_from(CLEAN_MODES))
def test_cleaner_keeps_every_line_or_names_its_removal(raw: str, mode: str) -> None:
    scraped = clean_scraped(raw, mode)
    assert scraped.text == scraped.text.strip()
    assert "\x00" not in scraped.text and "\r" not in scraped.text
    for removal in scraped.removed:
        assert removal.line >= 1 and removal.rule


@hostile
@given(texty)
def test_html_fragments_become_text(fragment: str) -> None:
    assert isinstance(html_to_text(fragment), str)


@hostile
@given(texty, st.integers(16, 80), st.integers(0, 8))
def test_chunk_offsets_hold_and_no_text_is_lost(text: str, max_tokens: int, overlap: int) -> None:
    text = text.strip() or "x"
    try:
        article = Article("a", text)
    except QAError as exc:  # a lone surrogate: refused with its position (the readers replace them)
        assert "surrogate" in str(exc)
        return
    chunks = chunk_article(article, FakeEncoder().count_tokens, ChunkSettings(max_tokens, overlap))
    covered = bytearray(len(text))
    for n, chunk in enumerate(chunks):
        assert chunk.index == n and 0 <= chunk.start < chunk.end <= len(text)
        assert text[chunk.start : chunk.end] == chunk.text
        covered[chunk.start : chunk.end] = b"\x01" * (chunk.end - chunk.start)
    lost = [c for c, seen in zip(text, covered) if not seen and not c.isspace()]
    assert not lost, f"characters in no chunk: {lost[:10]!r}"
    for s, e in split_sentences(text):
        assert text[s:e] == text[s:e].strip() and e > s


@hostile
@given(st.binary(max_size=600) | texty.map(lambda t: t.encode("utf-8", "surrogatepass")), st.sampled_from(
    [".txt", ".md", ".html", ".xml", ".rss", ".jsonl", ".csv", ".unknown", ""]))
def test_any_bytes_in_any_file_type(data: bytes, suffix: str) -> None:
    _read(data, suffix)


def _page(title: str, body: str, nested: int) -> str:
    return (
        f"<html><head><title>{title}</title><meta property='og:url' content='{title}'></head><body>"
        + "<div>" * nested + f"<article><h1>{title}</h1><p>{body}</p><p>{body}</p></article>" + "</div>" * nested
        + "</body></html>"
    )


@hostile
@given(texty, texty, st.integers(0, 40))
def test_html_pages(title: str, body: str, nested: int) -> None:
    _read(_page(title, body, nested).encode("utf-8", "surrogatepass"), ".html")


LINKS = ["", "not a link", "javascript:alert(1)", "http://127.0.0.1:9/closed", "ftp://x", "http://508.0.0.1:9/a", "http://[::1"]  # the last two: found by fuzzing


@hostile
@given(st.lists(st.tuples(texty, texty, st.sampled_from(LINKS), texty), max_size=4), st.booleans())
def test_feeds(items: list[tuple[str, str, str, str]], atom: bool) -> None:
    from xml.sax.saxutils import escape

    def e(value: str) -> str:
        return escape(value)

    if atom:
        entries = "".join(
            f"<entry><title>{e(t)}</title><link href='{e(l)}'/><updated>{e(d)}</updated>"
            f"<content type='html'>{e(b)}</content></entry>" for t, b, l, d in items
        )
        doc = f"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>t</title>{entries}</feed>"
    else:
        entries = "".join(
            f"<item><title>{e(t)}</title><link>{e(l)}</link><pubDate>{e(d)}</pubDate>"
            f"<description>{e(b)}</description></item>" for t, b, l, d in items
        )
        doc = f"<?xml version='1.0'?><rss version='2.0'><channel><title>c</title>{entries}</channel></rss>"
    _read(doc.encode("utf-8", "surrogatepass"), ".rss")


@hostile
@given(st.lists(records | json_values, max_size=6), st.booleans())
def test_jsonl_records(rows: list[object], ascii_only: bool) -> None:
    lines = [json.dumps(row, ensure_ascii=ascii_only) for row in rows]
    _read("\n".join(lines).encode("utf-8", "surrogatepass"), ".jsonl")


@hostile
@given(st.lists(st.text(max_size=10), min_size=1, max_size=6), st.lists(st.lists(texty, max_size=6), max_size=5))
def test_csv_tables(header: list[str], rows: list[list[str]]) -> None:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header + ["text"] if len(header) % 2 else header)
    writer.writerows(rows)
    _read(out.getvalue().encode("utf-8", "surrogatepass"), ".csv")


@hostile
@given(json_values | st.binary(max_size=50))
def test_question_check(question: object) -> None:
    try:
        checked = check_question(question)
    except QAError as exc:
        assert str(exc).strip()
        return
    assert checked and checked == checked.strip()


@hostile
@given(st.lists(st.dictionaries(st.sampled_from(
    ["question", "article_id", "url", "answers", "answerable", "history", "kind", "short", "id", "conversation"]),
    json_values, max_size=6) | json_values, max_size=6) | st.binary(max_size=300))
def test_question_file_parser(content: object) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "questions.jsonl"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes("\n".join(json.dumps(row) for row in content).encode("utf-8", "surrogatepass"))
        try:
            questions, skipped = read_questions(path)
        except QAError as exc:
            assert str(exc).strip()
            return
    for q in questions:
        assert q.question.strip()
    for s in skipped:
        assert s.reason.strip()


@pytest.mark.parametrize("line", ['{"question": "\\ud800 why?"}', "[" * 100_000, '{"question": "' + "x" * 10 + '"}'])
def test_question_file_edge_lines(tmp_path: Path, line: str) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(line, encoding="utf-8")
    questions, skipped = read_questions(path)
    assert len(questions) + len(skipped) == 1


@pytest.mark.parametrize("suffix, data", [
    (".jsonl", b"[" * 100_000 + b"\n" + json.dumps({"text": "A real article about the budget vote. " * 3}).encode()),
    (".jsonl", b'{"text": "\\ud800 lone surrogate in an article about the vote."}'),
    (".csv", b"title,text\nnul,\x00 the article\n"),
])
def test_record_edge_cases(suffix: str, data: bytes) -> None:
    items = _read(data, suffix)
    assert items, "the file gave neither an article nor a failure"


def test_feeds_found_by_fuzzing() -> None:
    """benchmarks/fuzz_readers.py found these: a feed link with an invalid IPv4 host, a non-UTF-8 encoding name."""
    bad_host = (b"<?xml version='1.0'?><rss version='2.0'><channel><title>W</title><item><title>V</title>"
                b"<link>http://508.0.0.1:9/a</link><description>Short.</description></item></channel></rss>")
    bad_encoding = b"<?xml version='1.0' encoding='" + b"\x8b" * 40 + b"'?><feed xmlns='http://www.w3.org/2005/Atom'></feed>"
    for data in (bad_host, bad_encoding):
        assert all(isinstance(i, Failure) for i in _read(data, ".rss"))
