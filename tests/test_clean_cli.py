"""`qa clean` shows what ingest would store and what cleaning removed; `qa ingest --clean` chooses how much."""

from __future__ import annotations

import json
from pathlib import Path

from qa.cli import build_parser, main
from qa.ingest import ingest
from qa.reading.sources import read_sources
from qa.stores import open_index

LEDE = "The city's tram network will run through the night from June, the transport authority said on Monday."
REST = "Night trams will stop every 20 minutes on the four busiest lines. Fares will not change."
TAIL = "Send Facebook Twitter Google+ Whatsapp Permalink http://p.example/2Q7 ab/cd (dpa, AFP)"
PAGE = "\n".join(["Advertisement", "By Mia Berg", LEDE, *REST.split(". "), "Follow us on Twitter"])


def write_sources(tmp_path: Path) -> tuple[Path, Path]:
    page = tmp_path / "trams.txt"
    page.write_text(PAGE, encoding="utf-8")
    export = tmp_path / "export.jsonl"
    export.write_text(
        json.dumps({"id": "t1", "text": f"{LEDE} {REST} {TAIL}", "url": "https://news.example/trams", "published": "2024-05-06"}) + "\n"
        + json.dumps({"id": "t2", "text": "Advertisement"}) + "\n"
    )
    return page, export


def test_qa_clean_json_prints_one_object_per_article_with_text_and_removals(tmp_path: Path, capsys):
    page, export = write_sources(tmp_path)
    code = main(["clean", str(page), str(export), "--json"])
    out, err = capsys.readouterr()
    first, second, third = (json.loads(line) for line in out.splitlines())
    assert code == 1 and f"qa: failed: {export}:2: article is empty" in err
    assert first["author"] == "Mia Berg" and first["clean"] == "page" and first["text"].startswith(LEDE)
    assert [(r["line"], r["rule"]) for r in first["removed"]] == [(1, "boilerplate"), (2, "byline"), (6, "boilerplate")]
    assert second["id"] == "t1" and second["clean"] == "furniture" and second["text"] == f"{LEDE} {REST}"
    assert (second["url"], second["published"]) == ("https://news.example/trams", "2024-05-06")
    assert [(r["rule"], r["whole_line"]) for r in second["removed"]] == [("share-bar", False), ("agency-code", False)]
    assert third["error"].startswith("article is empty") and third["removed"][0]["text"] == "Advertisement"
    assert not (tmp_path / "embeddings").exists(), "qa clean stores nothing"


def test_qa_clean_text_lists_each_removed_line_with_its_rule(tmp_path: Path, capsys):
    page, _ = write_sources(tmp_path)
    assert main(["clean", str(page)]) == 0
    out = capsys.readouterr().out
    assert "author:    Mia Berg" in out and LEDE in out
    assert "line 1        [boilerplate] Advertisement" in out and "line 2        [byline] By Mia Berg" in out
    assert main(["clean", str(page), "--clean", "none"]) == 0
    assert "-- removed: nothing" in capsys.readouterr().out


def test_ingest_clean_flag_reaches_the_reader(tmp_path: Path, fake_encoder):
    page, export = write_sources(tmp_path)
    args = build_parser().parse_args(["ingest", str(export), "--clean", "none"])
    assert args.clean == "none" and build_parser().parse_args(["ingest", "x"]).clean == "auto"
    report = ingest(read_sources([str(page), str(export)], clean=args.clean), tmp_path / "index", encoder=fake_encoder, progress=False)
    assert report.ok
    texts = {a.id: a.text for a in open_index(tmp_path / "index").reader().articles()}
    assert texts["t1"].endswith(TAIL) and texts["t2"] == "Advertisement"
