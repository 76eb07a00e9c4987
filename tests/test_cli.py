"""The `qa` command through its real entry point, with the real packaged MiniLM model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

QA = [str(Path(sys.executable).with_name("qa"))]

ARTICLES = {
    "volcano.txt": (
        "Volcano erupts near fishing village\n"
        "A volcano on the northern island erupted on Sunday night, sending ash five kilometres into the sky. "
        "About 2,000 residents of the nearby fishing village were evacuated by boat. "
        "Scientists had warned of rising seismic activity for weeks."
    ),
    "election.md": (
        "# Mayor wins second term\n"
        "Incumbent mayor Clara Osei won a second term with 58 percent of the vote. "
        "Turnout was the highest in two decades, officials said. "
        "Her opponent conceded shortly after midnight."
    ),
}


def run(*args: str, index: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "QA_INDEX_DIR": str(index)}
    return subprocess.run(QA + list(args), capture_output=True, text=True, env=env, timeout=300)


def test_cli_ingest_search_list_stats_remove(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in ARTICLES.items():
        (docs / name).write_text(text, encoding="utf-8")
    records = tmp_path / "more.jsonl"
    records.write_text(
        json.dumps({"id": "rail-1", "title": "Rail strike called off", "url": "https://news.example/rail",
                    "published": "2024-05-02", "text": "Train drivers called off next week's strike after "
                    "the operator offered a 6 percent pay rise. Services will run normally."}) + "\n{oops\n"
    )
    index = tmp_path / "index"

    result = run("ingest", str(docs), str(records), str(tmp_path / "missing.txt"), "--quiet", index=index)
    assert result.returncode == 1
    assert f"qa: failed: {records}:2: malformed JSON" in result.stderr
    assert f"qa: failed: {tmp_path / 'missing.txt'}: no such file" in result.stderr
    assert "3 added, 0 replaced, 0 unchanged, 2 failed" in result.stderr
    assert "Traceback" not in result.stderr

    again = run("ingest", str(docs), "--quiet", index=index)
    assert again.returncode == 0 and "0 added, 0 replaced, 2 unchanged" in again.stderr

    found = run("search", "how many people were evacuated?", "-k", "2", "--json", index=index)
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert hits[0]["title"] == "Volcano erupts near fishing village"
    assert "2,000 residents" in hits[0]["text"]
    assert {"score", "article_id", "url", "published", "source", "start", "end"} <= hits[0].keys()

    text = run("search", "pay rise for train drivers", "--mode", "bm25", index=index)
    assert "Rail strike called off" in text.stdout and "2024-05-02" in text.stdout and "chars 0-" in text.stdout

    listing = json.loads(run("list", "--json", index=index).stdout)
    assert sorted(a["title"] for a in listing) == ["Mayor wins second term", "Rail strike called off", "Volcano erupts near fishing village"]

    stats = json.loads(run("stats", "--json", index=index).stdout)
    assert stats["articles"] == 3 and stats["chunks"] >= 3
    assert stats["model"] == "sentence-transformers/all-MiniLM-L6-v2" and stats["size_bytes"] > 0

    removed = run("remove", "https://news.example/rail", index=index)
    assert removed.returncode == 0
    assert len(json.loads(run("list", "--json", index=index).stdout)) == 2
    missing = run("remove", "no-such-article", index=index)
    assert missing.returncode == 1 and "not in the index: no-such-article" in missing.stderr


def test_cli_errors_are_one_line(tmp_path: Path):
    result = run("search", "anything", index=tmp_path / "none")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("qa: error: no index in")
    assert "Traceback" not in result.stderr
    bad = run("search", "x", "--since", "March", index=tmp_path / "none")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
